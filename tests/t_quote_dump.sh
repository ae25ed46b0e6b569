# initra quote dump: every vector's fields against the manifest's `decoded`, and bad input.
. tests/lib.sh
plan 6  # the bad-input checks at the end
# Every vector the manifest lists (tests/vectors.sh), so that a vector missing from the directory is a
# failed check, not a shorter loop: 3 checks each, 2 more for those with collateral.
NAMES="" VERIFIABLE=""
if [ -n "$VECTORS" ]; then
  NAMES=$(python3 -c "import json,sys;print(' '.join(r['name'] for r in json.load(open(sys.argv[1]))))" "$VECTORS/manifest.json")
  VERIFIABLE=$(python3 -c "import json,sys;print(' '.join(r['name'] for r in json.load(open(sys.argv[1])) if not r['expect'].get('parse_only')))" "$VECTORS/manifest.json")
  plan $((1 + 3 * $(echo $NAMES | wc -w) + 2 * $(echo $VERIFIABLE | wc -w)))
  [ -n "$NAMES" ] && ok "the manifest lists $(echo $NAMES | wc -w) vectors" || not_ok "$VECTORS/manifest.json lists no vectors"
else
  skip "quote dump of every real-quote vector: no vectors (tests/vectors.sh)"
fi
for name in $NAMES; do
  dir="$VECTORS/$name"
  if "$INITRA" quote dump --json "$dir/quote.bin" >"$T/$name.json" 2>"$T/err"; then
    res=$(python3 - "$VECTORS/manifest.json" "$name" "$T/$name.json" <<'PY'
import json, sys
manifest, name, got = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
row = [r for r in json.load(open(manifest)) if r["name"] == name][0]
h, r = row["decoded"]["header"], row["decoded"]["report"]
want = {"version": h["version"], "att_key_type": h["att_key_type"], "tee_type": int(h["tee_type"], 16),
        "qe_svn": h["qe_svn"], "pce_svn": h["pce_svn"], "qe_vendor_id": h["qe_vendor_id"], "user_data": h["user_data"]}
for k, v in r.items():
    if k in ("attributes", "td_attributes_u64", "xfam_u64"):
        continue
    if k == "attributes_flags": want["attributes"] = dict(want.get("attributes", {}), flags=int(v, 16))
    elif k == "attributes_xfrm": want["attributes"] = dict(want.get("attributes", {}), xfrm=int(v, 16))
    elif k == "misc_select": want[k] = int(v, 16)
    elif k == "debug(TUD)": want["debug"] = v
    else: want[k] = v
bad = [f"{k}: got {got.get(k)!r} want {v!r}" for k, v in want.items() if got.get(k) != v]
print("; ".join(bad) if bad else f"OK {len(want)} fields")
PY
)
    case "$res" in OK*) ok "quote dump --json $name: $res";; *) not_ok "quote dump --json $name: $res";; esac
  else
    not_ok "quote dump --json $name failed: $(cat "$T/err")"
  fi
  check "quote dump (human) $name" "$INITRA" quote dump "$dir/quote.bin"
  grep -q '^  mr_' "$T/out" && ok "human dump of $name is labelled" || not_ok "human dump of $name has no mr_ labels"
  if case " $VERIFIABLE " in *" $name "*) true;; *) false;; esac; then  # the PCK extension against the Intel-signed TCB info
    check "quote dump --pck --json $name" "$INITRA" quote dump --pck --json "$dir/quote.bin"
    res=$(python3 -c "
import json, sys
p, c = json.load(open(sys.argv[1])), json.loads(json.load(open(sys.argv[2]))['tcb_info'])
got, want = (p['fmspc'], p['pce_id']), (c['fmspc'].upper(), c['pceId'].upper())
print('OK %s %s' % got if got == want else 'got %s want %s' % (got, want))" "$T/out" "$dir/collateral.json")
    case "$res" in OK*) ok "PCK extension of $name matches its TCB info: $res";; *) not_ok "PCK extension of $name: $res";; esac
  fi
done

# bad input: copies of a real v3 quote, or of a sim one (same layout) when the vectors are absent
Q="$VECTORS/sgx-phala-2025/quote.bin"
if [ -z "$VECTORS" ]; then
  Q="$T/sim.bin"
  INITRA_SIM_DIR="$T/sim" "$INITRA" sim quote -o "$Q" || not_ok "sim quote for the bad-input checks"
fi
check_fails "missing file is a usage error" 2 'nonexistent.bin: cannot open' "$INITRA" quote dump "$T/nonexistent.bin"
head -c 100 "$Q" >"$T/short.bin"
check_fails "truncated quote" 1 'short.bin: quote: truncated: report body needs 384 bytes at offset 48' "$INITRA" quote dump "$T/short.bin"
python3 -c "import sys;b=bytearray(open(sys.argv[1],'rb').read());b[0]=7;open(sys.argv[2],'wb').write(b)" "$Q" "$T/v7.bin"
check_fails "wrong version" 1 'quote: version 7 is not supported' "$INITRA" quote dump "$T/v7.bin"
python3 -c "import sys;b=bytearray(open(sys.argv[1],'rb').read());b[2]=3;open(sys.argv[2],'wb').write(b)" "$Q" "$T/akt.bin"
check_fails "wrong att_key_type" 1 'quote: att_key_type 3 is not supported' "$INITRA" quote dump "$T/akt.bin"
python3 -c "import sys,struct;b=bytearray(open(sys.argv[1],'rb').read());b[432:436]=struct.pack('<I',len(b));open(sys.argv[2],'wb').write(b)" "$Q" "$T/siglen.bin"
check_fails "signature_data_len past the end" 1 'quote: signature_data_len [0-9]+ at offset 432 runs past the end' "$INITRA" quote dump "$T/siglen.bin"
check_fails "unknown option" 2 "^initra: quote dump: unknown argument '--bogus'; see .initra quote dump --help.$" "$INITRA" quote dump --bogus "$Q"
