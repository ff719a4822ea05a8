// mysql2 from a URL variable as-is (MYSQL_URL, or DATABASE_URL when MariaDB is the main database).
//   node mysql2.js VARIABLE TOKEN
const mysql = require("mysql2/promise");
const { env, trySchemes } = require("./common");
(async () => {
  const [variable, token] = process.argv.slice(2);
  const url = env(variable);
  await trySchemes(url, ["mysql", "mariadb"], async (u) => { const c = await mysql.createConnection(u); await c.end(); });
  const c = await mysql.createConnection(url);
  await c.query("CREATE TABLE IF NOT EXISTS client_rows (client varchar(64), token varchar(64))");
  await c.query("INSERT INTO client_rows VALUES ('mysql2', ?)", [token]);
  const [rows] = await c.query("SELECT token FROM client_rows WHERE client = 'mysql2'");
  console.log(`READ ${rows[0].token}`);
  await c.end();
})().catch((e) => { console.error(e); process.exit(1); });
