// ioredis from REDIS_URL as-is (user and password in it), keys under REDIS_KEY_PREFIX.  node ioredis.js TOKEN
const Redis = require("ioredis");
const { env, trySchemes } = require("./common");
(async () => {
  const token = process.argv[2];
  const url = env("REDIS_URL");
  const prefix = env("REDIS_KEY_PREFIX");
  await trySchemes(url, ["redis"], async (u) => {
    const r = new Redis(u, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try { await r.connect(); await r.ping(); } finally { r.disconnect(); }
  });
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  await r.set(`${prefix}clients:ioredis`, token);
  console.log(`READ ${await r.get(`${prefix}clients:ioredis`)}`);
  r.disconnect();
})().catch((e) => { console.error(e); process.exit(1); });
