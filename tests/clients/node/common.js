// What every Node client program shares (see tests/clients/python/common.py for the protocol:
// SCHEME <scheme> ok|fail <error>, READ <token>).
function env(name) {
  const v = process.env[name];
  if (!v) { console.error(`${name} is not set: run this under \`dockhand run <project> -- ...\``); process.exit(2); }
  return v;
}
const withScheme = (url, scheme) => `${scheme}://${url.split("://")[1]}`;
async function trySchemes(url, schemes, connect) {
  for (const s of schemes) {
    try { await connect(withScheme(url, s)); console.log(`SCHEME ${s} ok`); }
    catch (e) { console.log(`SCHEME ${s} fail ${(e && e.message ? e.message : String(e)).split("\n")[0]}`); }
  }
}
module.exports = { env, withScheme, trySchemes };
