"""Edits a collateral bundle (docs/protocols.md#collateral: tcb_info / qe_identity JSON texts, their signatures
and issuer chains) and signs the edited texts again, as a host that holds some key would.

  collateral_resign.py IN OUT --key KEY.pem [--chain CERT.pem...] [--tcb-advisories N] [--qe-advisories N]
                       [--eval N]

--key signs both texts (ECDSA P-256, SHA-256 over the exact text, r||s as hex, as Intel signs them);
--chain replaces both issuer chains (PEM certificates, signer first). --tcb-advisories N gives every TCB
level N advisory IDs (INTEL-SA-T0000...), --qe-advisories N the QE identity's level N others;
--eval sets tcbEvaluationDataNumber in both. Debian's python3-cryptography.
"""
import argparse
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def sign(key, text):
    r, s = decode_dss_signature(key.sign(text.encode(), ec.ECDSA(hashes.SHA256())))
    return "%064x%064x" % (r, s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--key", required=True)
    ap.add_argument("--chain", nargs="*")
    ap.add_argument("--tcb-advisories", type=int)
    ap.add_argument("--qe-advisories", type=int)
    ap.add_argument("--eval", type=int)
    a = ap.parse_args()
    c = json.load(open(a.inp))
    key = serialization.load_pem_private_key(open(a.key, "rb").read(), password=None)
    tcb, qe = json.loads(c["tcb_info"]), json.loads(c["qe_identity"])
    if a.tcb_advisories is not None:
        for lvl in tcb["tcbLevels"]:
            lvl["advisoryIDs"] = ["INTEL-SA-T%04d" % i for i in range(a.tcb_advisories)]
    if a.qe_advisories is not None:
        for lvl in qe["tcbLevels"]:
            lvl["advisoryIDs"] = ["INTEL-SA-Q%04d" % i for i in range(a.qe_advisories)]
    if a.eval is not None:
        tcb["tcbEvaluationDataNumber"] = qe["tcbEvaluationDataNumber"] = a.eval
    c["tcb_info"] = json.dumps(tcb, separators=(",", ":"))
    c["qe_identity"] = json.dumps(qe, separators=(",", ":"))
    c["tcb_info_signature"] = sign(key, c["tcb_info"])
    c["qe_identity_signature"] = sign(key, c["qe_identity"])
    if a.chain:
        pem = "".join(open(p).read() for p in a.chain)
        c["tcb_info_issuer_chain"] = c["qe_identity_issuer_chain"] = pem
    json.dump(c, open(a.out, "w"), indent=2)


if __name__ == "__main__":
    main()
