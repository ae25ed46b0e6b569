#!/usr/bin/env python3
"""A stand-in for Intel's PCCS (QuoteGeneration/pccs, 1.2x) in offline cache mode, serving the collateral
of test vectors the way Intel's PCCS answers its clients:

  routes (routes/index.js, pccs_server.js): /sgx/certification/v3/* and /sgx/certification/v4/*
    (tcb, qe/identity, pckcrl, rootcacrl), /tdx/certification/v4/{tcb,qe/identity}; no TDX v3 routes.
  tcb (tcbinfoController.js): ?fmspc= of 12 hex digits, upper-cased before the lookup (so lower case
    works); body {"tcbInfo":...,"signature":...} as application/json; issuer chain in
    TCB-Info-Issuer-Chain (v4) or SGX-TCB-Info-Issuer-Chain (v3), URL-encoded PEM.
  qe/identity: {"enclaveIdentity":...,"signature":...}, SGX-Enclave-Identity-Issuer-Chain.
  pckcrl (pckcrlController.js): ?ca=processor|platform (case-insensitive); encoding=der gives DER as
    application/pkix-crl, otherwise PEM as application/x-pem-file; SGX-PCK-CRL-Issuer-Chain.
  rootcacrl (rootcacrlController.js): the CRL as hex text, Content-Type application/pkix-crl.
  data it does not hold: 404 "No cache data for this platform." (pccs_status_code.js,
    PCCS_STATUS_NO_CACHE_DATA); a route that does not exist: Express's 404 page "Cannot GET /path".

usage: pccs_intel.py PORTFILE LOG CERT KEY COLLATERAL.json... [--no-v4] [--no-v4-route KIND]
  COLLATERAL.json: a vector's bundle; its tcb_info says SGX or TDX and the FMSPC.
  --no-v4: an older PCCS without API v4 (no /sgx/certification/v4 nor /tdx routes).
  --no-v4-route KIND: this v4 SGX route is missing (e.g. qe/identity), the others exist.
  CERT/KEY: PEM files for HTTPS ("-" for plain HTTP). Every request path is appended to LOG.
"""
import base64
import http.server
import json
import os
import ssl
import sys
import urllib.parse


def url_quote(pem):
    return urllib.parse.quote(pem, safe="")


def load(paths):
    """(tee, FMSPC) -> bundle, and the CRLs/identities shared by the vectors (the first bundle's)."""
    tcbs, qes, first = {}, {}, None
    for p in paths:
        c = json.load(open(p))
        info = json.loads(c["tcb_info"])
        tee = "tdx" if info.get("id") == "TDX" else "sgx"
        tcbs[(tee, info["fmspc"].upper())] = c
        qes.setdefault(tee, c)
        first = first or c
    return tcbs, qes, first


def main():
    args = sys.argv[1:]
    no_v4 = "--no-v4" in args
    missing = set()
    while "--no-v4-route" in args:
        i = args.index("--no-v4-route")
        missing.add(args[i + 1])
        del args[i:i + 2]
    args = [a for a in args if a != "--no-v4"]
    port_file, log, cert, key = args[:4]
    tcbs, qes, first = load(args[4:])

    class PCCS(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self, status, body, ctype, headers=None):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def no_route(self, path):
            page = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
                    '</head>\n<body>\n<pre>Cannot GET %s</pre>\n</body>\n</html>\n' % path)
            self.answer(404, page.encode(), "text/html; charset=utf-8")

        def no_cache(self):
            self.answer(404, b"No cache data for this platform.", "text/html; charset=utf-8")

        def do_GET(self):
            with open(log, "a") as f:
                f.write(self.path + "\n")
            u = urllib.parse.urlparse(self.path)
            qs = urllib.parse.parse_qs(u.query)
            parts = u.path.split("/")  # '', tee, 'certification', ver, kind...
            if len(parts) < 5 or parts[2] != "certification":
                return self.no_route(u.path)
            tee, ver, kind = parts[1], parts[3], "/".join(parts[4:])
            routes = {"tcb", "qe/identity"} | ({"pckcrl", "rootcacrl"} if tee == "sgx" else set())
            served = (tee == "sgx" and ver in ("v3", "v4")) or (tee == "tdx" and ver == "v4")
            if no_v4 and ver == "v4":
                served = False
            if ver == "v4" and tee == "sgx" and kind in missing:
                served = False
            if not served or kind not in routes:
                return self.no_route(u.path)
            if kind == "tcb":
                fm = qs.get("fmspc", [""])[0]
                if len(fm) != 12:
                    return self.answer(400, b"Invalid request parameters.", "text/html; charset=utf-8")
                c = tcbs.get((tee, fm.upper()))
                if not c:
                    return self.no_cache()
                body = '{"tcbInfo":%s,"signature":"%s"}' % (c["tcb_info"], c["tcb_info_signature"])
                name = "SGX-TCB-Info-Issuer-Chain" if ver == "v3" else "TCB-Info-Issuer-Chain"
                return self.answer(200, body.encode(), "application/json", {name: url_quote(c["tcb_info_issuer_chain"])})
            if kind == "qe/identity":
                c = qes.get(tee)
                if not c:
                    return self.no_cache()
                body = '{"enclaveIdentity":%s,"signature":"%s"}' % (c["qe_identity"], c["qe_identity_signature"])
                return self.answer(200, body.encode(), "application/json",
                                   {"SGX-Enclave-Identity-Issuer-Chain": url_quote(c["qe_identity_issuer_chain"])})
            if kind == "pckcrl":
                ca = qs.get("ca", [""])[0].upper()
                if ca not in ("PROCESSOR", "PLATFORM"):
                    return self.answer(400, b"Invalid request parameters.", "text/html; charset=utf-8")
                der = bytes.fromhex(first["pck_crl"])
                hdr = {"SGX-PCK-CRL-Issuer-Chain": url_quote(first["pck_crl_issuer_chain"])}
                if qs.get("encoding", [""])[0].upper() == "DER":
                    return self.answer(200, der, "application/pkix-crl", hdr)
                b64 = base64.encodebytes(der).decode().replace("\n", "")
                pem = "-----BEGIN X509 CRL-----\n%s\n-----END X509 CRL-----\n" % "\n".join(
                    b64[i:i + 64] for i in range(0, len(b64), 64))
                return self.answer(200, pem.encode(), "application/x-pem-file", hdr)
            if kind == "rootcacrl":
                return self.answer(200, first["root_ca_crl"].encode(), "application/pkix-crl")
            return self.no_route(u.path)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PCCS)
    if cert != "-":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(port_file + ".tmp", port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
