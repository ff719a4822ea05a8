# Rails' ActiveRecord (Debian's ruby-activerecord + ruby-pg), connected from DATABASE_URL as-is,
# as Rails does when the variable is set.   ruby active_record.rb TOKEN
require "active_record"

url = ENV.fetch("DATABASE_URL") { abort "DATABASE_URL is not set: run this under `dockhand run <project> -- ...`" }
rest = url[url.index("://")..]
%w[postgres postgresql].each do |s|
  ActiveRecord::Base.establish_connection(s + rest)
  ActiveRecord::Base.connection.execute("SELECT 1")
  puts "SCHEME #{s} ok"
rescue StandardError => e
  puts "SCHEME #{s} fail #{e.class}: #{e.message.lines.first&.strip}"
ensure
  ActiveRecord::Base.remove_connection
end
ActiveRecord::Base.establish_connection(url)
db = ActiveRecord::Base.connection
db.execute("CREATE TABLE IF NOT EXISTS client_rows (client text, token text)")
db.execute(ActiveRecord::Base.sanitize_sql_array(["INSERT INTO client_rows VALUES ('activerecord', ?)", ARGV[0]]))
puts "READ #{db.select_value("SELECT token FROM client_rows WHERE client = 'activerecord'")}"
