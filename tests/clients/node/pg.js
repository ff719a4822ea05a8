// node-postgres from DATABASE_URL as-is.  node pg.js TOKEN
const { Client } = require("pg");
const { env, trySchemes } = require("./common");
(async () => {
  const token = process.argv[2];
  const url = env("DATABASE_URL");
  await trySchemes(url, ["postgres", "postgresql"], async (u) => { const c = new Client({ connectionString: u }); await c.connect(); await c.end(); });
  const c = new Client({ connectionString: url });
  await c.connect();
  await c.query("CREATE TABLE IF NOT EXISTS client_rows (client text, token text)");
  await c.query("INSERT INTO client_rows VALUES ('node-pg', $1)", [token]);
  const r = await c.query("SELECT token FROM client_rows WHERE client = 'node-pg'");
  console.log(`READ ${r.rows[0].token}`);
  await c.end();
})().catch((e) => { console.error(e); process.exit(1); });
