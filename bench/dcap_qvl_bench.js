// Verifications per second of @phala/dcap-qvl (JavaScript) on the same quote, collateral and time.
// usage: node dcap_qvl_bench.js MODULE_DIR QUOTE COLLATERAL AT [SECONDS]
const fs = require('fs');
const path = require('path');
const [modDir, quoteFile, collFile, atStr, secsStr] = process.argv.slice(2);
const { verify } = require(path.resolve(modDir, 'node_modules/@phala/dcap-qvl'));
const quote = fs.readFileSync(quoteFile);
const coll = JSON.parse(fs.readFileSync(collFile, 'utf8'));
const at = Number(atStr);
const secs = Number(secsStr || 3);
const r = verify(quote, coll, at);
if (!r || !r.status) { console.error('dcap-qvl: no status'); process.exit(1); }
let n = 0;
const t0 = process.hrtime.bigint();
let t;
do {
    for (let i = 0; i < 10; i++, n++) verify(quote, coll, at);
    t = process.hrtime.bigint();
} while (Number(t - t0) / 1e9 < secs);
console.log(`verify_per_s dcap_qvl_js ${(n / (Number(t - t0) / 1e9)).toFixed(0)}`);
console.error(`dcap-qvl status ${r.status} advisories ${JSON.stringify(r.advisory_ids)}`);
