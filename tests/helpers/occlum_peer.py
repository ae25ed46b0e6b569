"""Occlum's GRPC-RATLS secret service, modelled from Occlum's own code, for tests/t_occlum_wire.sh.

Written from occlum/occlum at 690d5db, tools/toolchains/grpc_ratls/ra_tls/0001-Add-Occlum-SGX-tls-function.patch
(examples/cpp/ratls/grpc_ratls_server.cc, grpc_ratls_client.cc, src/cpp/sgx/sgx_ra_tls_utils.cc) and
tools/init_grpc_ratls/src/main.rs, not from initra's code.

  occlum_peer.py server PORT_FILE SECRET_CONFIG --cert PEM --key PEM
      Occlum's server: each GetSecret re-reads SECRET_CONFIG (json_engine per call), finds the name's
      item and replies cJSON_Print(item): for a string, the text inside its two JSON quotes. A name
      without an item (or an empty print) gets CANCELLED with no message. Occlum's server also asks for
      and verifies the client's RA-TLS certificate; this model does not ask for one (the payload is
      what it tests; initra's KMS covers client verification).
  occlum_peer.py client TARGET NAME... --root PEM --cert PEM --key PEM [--override CN]
      Occlum's client decoding applied to each reply of a real server: one JSON line per name,
      {"name", "reply", "status", "kept" (hex), "buffer", "written", "overflow", "uninitialized"}.
  occlum_peer.py model TEXT
      The same decoding of TEXT, one JSON line.
Run with Debian's /usr/bin/python3 (python3-grpcio, python3-protobuf).
"""
import argparse
import json
import sys
from concurrent import futures

import grpc

from grsecret import METHOD, messages, read
from serve_util import publish_and_serve

B64_TABLE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
SIZE_MAX = 2 ** 64


def cjson_print_string(s):
    """cJSON_Print of a string item: '"' + the text with '"', '\\' and control characters escaped + '"'
    (cJSON escapes nothing else, like json.dumps with ensure_ascii=False)."""
    return json.dumps(s, ensure_ascii=False)


def base64_decode_len(b):
    """grpc_ratls_client.cc base64_decode_len: strlen*3/4 - padding (size_t), padding 2 when the last two
    characters are '=', 1 when only the last one is."""
    n = len(b)
    padding = 0
    if b[n - 1:n] == b"=" and b[n - 2:n - 1] == b"=":
        padding = 2
    elif b[n - 1:n] == b"=":
        padding = 1
    return (n * 3 // 4 - padding) % SIZE_MAX


def occlum_client(reply):
    """grpc_ratls_get_secret_string + grpc_ratls_get_secret_to_buf + init's write, on the reply text.

    len = base64_decode_len(reply); secret_orig = malloc(len); base64_decode writes 3 bytes per 4
    characters of the alphabet, '=' counting as 0 and every other character skipped, with no bound
    check; the client keeps secret_orig[0 .. len-1) (len - 1 bytes); len == 0 is an error. Writes past
    the buffer are counted (overflow) and dropped; kept bytes the decoder never wrote are counted
    (uninitialized, read back here as 0)."""
    b = reply.encode()
    if not b:
        return {"status": "GRPC_RATLS_NO_SECRET"}
    olen = base64_decode_len(b)
    if olen == 0:
        return {"status": "GRPC_RATLS_ERR", "buffer": 0}
    dtable = {c: i for i, c in enumerate(B64_TABLE)}
    dtable[ord("=")] = 0
    buf = bytearray(olen)
    written = set()
    overflow = 0
    pos = 0
    block = []
    for c in b:
        if c not in dtable:
            continue
        block.append(dtable[c])
        if len(block) == 4:
            out = [((block[0] << 2) | (block[1] >> 4)) & 0xff,
                   ((block[1] << 4) | (block[2] >> 2)) & 0xff,
                   ((block[2] << 6) | block[3]) & 0xff]
            for v in out:
                if pos < olen:
                    buf[pos] = v
                    written.add(pos)
                else:
                    overflow += 1
                pos += 1
            block = []
    kept = bytes(buf[:olen - 1])
    return {"status": "GRPC_RATLS_SUCCESS", "kept": kept.hex(), "buffer": olen, "written": pos,
            "overflow": overflow, "uninitialized": sum(1 for i in range(olen - 1) if i not in written)}


def server(a):
    req_cls, rep_cls = messages()

    def get_secret(request, context):
        with open(a.secret_config, "rb") as f:
            config = json.loads(f.read())
        item = config.get(request.name) if isinstance(config, dict) else None
        secret = ""
        if item is not None:
            secret = cjson_print_string(item) if isinstance(item, str) else json.dumps(item)
        if not secret:
            context.set_code(grpc.StatusCode.CANCELLED)
            return rep_cls()
        return rep_cls(secret=secret)

    handler = grpc.method_handlers_generic_handler("ratls.GrSecret", {
        "GetSecret": grpc.unary_unary_rpc_method_handler(
            get_secret, request_deserializer=req_cls.FromString,
            response_serializer=rep_cls.SerializeToString)})
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[handler])
    creds = grpc.ssl_server_credentials([(read(a.key), read(a.cert))])
    port = srv.add_secure_port("127.0.0.1:0", creds)
    return publish_and_serve(srv, port, a.port_file)


def client(a):
    req_cls, rep_cls = messages()
    creds = grpc.ssl_channel_credentials(root_certificates=read(a.root), private_key=read(a.key),
                                         certificate_chain=read(a.cert))
    options = [("grpc.ssl_target_name_override", a.override)] if a.override else []
    rc = 0
    with grpc.secure_channel(a.target, creds, options=options) as ch:
        call = ch.unary_unary(METHOD, request_serializer=req_cls.SerializeToString,
                              response_deserializer=rep_cls.FromString)
        for name in a.names:
            try:
                reply = call(req_cls(name=name), timeout=10).secret
            except grpc.RpcError as e:
                print(json.dumps({"name": name, "status": "RPC " + e.code().name}))
                rc = 1
                continue
            out = {"name": name, "reply": reply}
            out.update(occlum_client(reply))
            print(json.dumps(out))
    return rc


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("server")
    s.add_argument("port_file")
    s.add_argument("secret_config")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    c = sub.add_parser("client")
    c.add_argument("target")
    c.add_argument("names", nargs="+")
    c.add_argument("--root", required=True)
    c.add_argument("--cert", required=True)
    c.add_argument("--key", required=True)
    c.add_argument("--override")
    m = sub.add_parser("model")
    m.add_argument("text")
    a = p.parse_args()
    if a.mode == "model":
        print(json.dumps(occlum_client(a.text)))
        return 0
    return server(a) if a.mode == "server" else client(a)


if __name__ == "__main__":
    sys.exit(main())
