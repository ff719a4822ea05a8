// A JVM app as Heroku's buildpacks set it up: JDBC_DATABASE_URL, JDBC_DATABASE_USERNAME and
// JDBC_DATABASE_PASSWORD from the environment, through DriverManager (the driver jar on the
// class path: Debian's libpostgresql-jdbc-java or libmariadb-java). Run as a single source file:
//   java -cp /usr/share/java/postgresql.jar Jdbc.java TOKEN [SCHEME...]
// Each SCHEME (jdbc:postgresql, jdbc:mysql, …) is tried in place of the URL's own and reported.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;

public class Jdbc {
    static String env(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            System.err.println(name + " is not set: run this under `dockhand run <project> -- ...`");
            System.exit(2);
        }
        return v;
    }

    public static void main(String[] args) throws Exception {
        String url = env("JDBC_DATABASE_URL");
        String user = env("JDBC_DATABASE_USERNAME");
        String password = env("JDBC_DATABASE_PASSWORD");
        String token = args[0];
        String rest = url.substring(url.indexOf("://"));
        for (int i = 1; i < args.length; i++) {
            try (Connection c = DriverManager.getConnection(args[i] + rest, user, password)) {
                System.out.println("SCHEME " + args[i] + " ok");
            } catch (Exception e) {
                System.out.println("SCHEME " + args[i] + " fail " + String.valueOf(e.getMessage()).split("\n")[0]);
            }
        }
        try (Connection c = DriverManager.getConnection(url, user, password)) {
            String type = url.startsWith("jdbc:postgresql") ? "text" : "varchar(64)";
            c.createStatement().execute("CREATE TABLE IF NOT EXISTS client_rows (client " + type + ", token " + type + ")");
            try (PreparedStatement p = c.prepareStatement("INSERT INTO client_rows VALUES ('jdbc', ?)")) {
                p.setString(1, token);
                p.executeUpdate();
            }
            try (ResultSet r = c.createStatement().executeQuery("SELECT token FROM client_rows WHERE client = 'jdbc'")) {
                r.next();
                System.out.println("READ " + r.getString(1));
            }
        }
    }
}
