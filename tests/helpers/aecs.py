"""A Python grpcio peer speaking AECS v2.0.0 (kubetee.Aecs/GetEnclaveSecret), for tests/t_aecs.sh.
The messages are built here from the field list of PROTOCOLS.md 1.3 (not from proto/aecs.proto), the
envelope with python3-cryptography; quotes come from `initra sim quote` (the simulated platform).

  aecs.py client TARGET SERVICE SECRET --initra BIN --mrsigner HEX --collateral FILE
      makes an RSA-2048 key (PKCS#1 PEM) and a Passport whose quote binds nonce and key, fetches the
      secret, checks that the server's quote binds its key, opens the envelope (RSA-OAEP SHA-1, AES-256-GCM,
      AAD = nonce, uppercase hex SHA-256, PKCS#1 v1.5 SHA-256 signature) and prints the secret;
      on an RPC error prints "ERROR <CODE> <details>" to stderr and exits 1.
  aecs.py server PORT_FILE --initra BIN --mrenclave HEX --collateral FILE SERVICE/NAME=VALUE...
      serves those secrets to any client (sealed to the key its report names), with its own Passport.
Run with Debian's /usr/bin/python3 (python3-grpcio, python3-protobuf, python3-cryptography).
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from concurrent import futures

import grpc

from serve_util import publish_and_serve
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

METHOD = "/kubetee.Aecs/GetEnclaveSecret"
F = descriptor_pb2.FieldDescriptorProto
S, B, M = F.TYPE_STRING, F.TYPE_BYTES, F.TYPE_MESSAGE

# name -> [(field, number, type, message type)], from PROTOCOLS.md 1.3.
FIELDS = {
    "UnifiedAttestationReport": [("str_report_version", 1, S, None), ("str_report_type", 2, S, None),
                                 ("str_tee_platform", 3, S, None), ("json_report", 4, S, None),
                                 ("json_nested_reports", 9, S, None)],
    "UnifiedAttestationAuthReport": [("report", 1, M, "UnifiedAttestationReport"), ("pem_public_key", 2, S, None)],
    "SymmetricKeyEncrypted": [("cipher", 1, B, None), ("mac", 2, B, None), ("aad", 3, B, None), ("iv", 4, B, None)],
    "DigitalEnvelopeEncrypted": [("aes_cipher", 1, M, "SymmetricKeyEncrypted"), ("encrypted_key", 2, B, None),
                                 ("plain_hash", 3, B, None), ("plain_hash_sig", 4, B, None)],
    "GetEnclaveSecretRequest": [("auth_ra_report", 1, M, "UnifiedAttestationAuthReport"), ("service_name", 2, S, None),
                                ("secret_name", 3, S, None), ("nonce", 4, S, None)],
    "GetEnclaveSecretResponse": [("auth_ra_report", 1, M, "UnifiedAttestationAuthReport"),
                                 ("secret_enc", 2, M, "DigitalEnvelopeEncrypted")],
}


def messages():
    fdp = descriptor_pb2.FileDescriptorProto(name="kubetee_test.proto", package="kubetee", syntax="proto3")
    for name, fields in FIELDS.items():
        m = fdp.message_type.add(name=name)
        for fname, num, typ, tname in fields:
            f = m.field.add(name=fname, number=num, type=typ, label=F.LABEL_OPTIONAL)
            if tname:
                f.type_name = ".kubetee." + tname
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    get = getattr(message_factory, "GetMessageClass", None)
    if get is None:
        get = message_factory.MessageFactory(pool).GetPrototype
    return {n: get(pool.FindMessageTypeByName("kubetee." + n)) for n in FIELDS}


def new_key(spki=False):
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo if spki else serialization.PublicFormat.PKCS1
    pem = k.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode()
    return k, pem


def passport(msgs, a, pem, first32, identity):
    """A Passport for pem: report_data = first32 (zero padded to 32 bytes) || SHA-256(pem)."""
    rd = first32.ljust(32, b"\0") + hashlib.sha256(pem.encode()).digest()
    with tempfile.TemporaryDirectory() as d:
        q = os.path.join(d, "q")
        subprocess.run([a.initra, "sim", "quote"] + identity + ["--report-data", rd.hex(), "-o", q], check=True)
        quote = open(q, "rb").read()
    coll = open(a.collateral).read()
    r = msgs["UnifiedAttestationReport"](str_report_version="1.0", str_report_type="Passport",
                                         str_tee_platform="SGX_DCAP",
                                         json_report=json.dumps({"b64_quote": base64.b64encode(quote).decode(),
                                                                 "json_collateral": coll}))
    return msgs["UnifiedAttestationAuthReport"](report=r, pem_public_key=pem)


def seal(msgs, plain, recipient_pem, signer, aad):
    key, iv = os.urandom(32), os.urandom(12)
    ct = AESGCM(key).encrypt(iv, plain, aad)
    pub = serialization.load_pem_public_key(recipient_pem.encode())
    ek = pub.encrypt(key, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    h = hashlib.sha256(plain).hexdigest().upper().encode()
    sig = signer.sign(h, padding.PKCS1v15(), hashes.SHA256())
    sym = msgs["SymmetricKeyEncrypted"](cipher=ct[:-16], mac=ct[-16:], aad=aad, iv=iv)
    return msgs["DigitalEnvelopeEncrypted"](aes_cipher=sym, encrypted_key=ek, plain_hash=h, plain_hash_sig=sig)


def client(a):
    msgs = messages()
    key, pem = new_key(a.spki)
    nonce = os.urandom(16).hex().upper()
    auth = passport(msgs, a, pem, bytes.fromhex(nonce), ["--mrsigner", a.mrsigner])
    req = msgs["GetEnclaveSecretRequest"](auth_ra_report=auth, service_name=a.service, secret_name=a.secret,
                                          nonce=nonce)
    with grpc.insecure_channel(a.target) as ch:
        call = ch.unary_unary(METHOD, request_serializer=lambda m: m.SerializeToString(),
                              response_deserializer=msgs["GetEnclaveSecretResponse"].FromString)
        try:
            rs = call(req, timeout=10)
        except grpc.RpcError as e:
            print("ERROR %s %s" % (e.code().name, (e.details() or "").replace("\n", " ")), file=sys.stderr)
            return 1
    spem = rs.auth_ra_report.pem_public_key
    jr = json.loads(rs.auth_ra_report.report.json_report)
    quote = base64.b64decode(jr.get("b64_quote") or jr["b64Quote"])
    assert rs.auth_ra_report.report.str_report_type == "Passport", rs.auth_ra_report.report.str_report_type
    assert spem.startswith("-----BEGIN RSA PUBLIC KEY-----"), "server key is not PKCS#1"
    assert quote[368 + 32:368 + 64] == hashlib.sha256(spem.encode()).digest(), "server quote does not bind its key"
    if a.server_quote:
        open(a.server_quote, "wb").write(quote)
    env = rs.secret_enc
    assert env.aes_cipher.aad == nonce.encode(), "AAD is not the nonce"
    k = key.decrypt(env.encrypted_key, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(),
                                                    label=None))
    plain = AESGCM(k).decrypt(env.aes_cipher.iv, env.aes_cipher.cipher + env.aes_cipher.mac, env.aes_cipher.aad)
    assert env.plain_hash == hashlib.sha256(plain).hexdigest().upper().encode(), "plain_hash mismatch"
    serialization.load_pem_public_key(spem.encode()).verify(env.plain_hash_sig, env.plain_hash, padding.PKCS1v15(),
                                                            hashes.SHA256())
    sys.stdout.write(plain.decode())
    return 0


def server(a):
    msgs = messages()
    key, pem = new_key()
    auth = passport(msgs, a, pem, b"", ["--mrenclave", a.mrenclave])
    secrets = {}
    for s in a.secrets:
        name, value = s.split("=", 1)
        secrets[name] = value.encode()

    def get(req, context):
        plain = secrets.get(req.service_name + "/" + req.secret_name)
        if plain is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no secret %s/%s" % (req.service_name, req.secret_name))
        aad = req.nonce.encode() if req.nonce else b"Enclave"
        env = seal(msgs, plain, req.auth_ra_report.pem_public_key, key, aad)
        with open(a.port_file + ".log", "a") as f:
            f.write("served %s/%s nonce=%s\n" % (req.service_name, req.secret_name, req.nonce))
        return msgs["GetEnclaveSecretResponse"](auth_ra_report=auth, secret_enc=env)

    handler = grpc.method_handlers_generic_handler("kubetee.Aecs", {
        "GetEnclaveSecret": grpc.unary_unary_rpc_method_handler(
            get, request_deserializer=msgs["GetEnclaveSecretRequest"].FromString,
            response_serializer=lambda m: m.SerializeToString())})
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[handler])
    port = srv.add_insecure_port("127.0.0.1:0")
    return publish_and_serve(srv, port, a.port_file)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("client")
    c.add_argument("target")
    c.add_argument("service")
    c.add_argument("secret")
    c.add_argument("--mrsigner", required=True)
    c.add_argument("--server-quote")
    c.add_argument("--spki", action="store_true", help="send an SPKI ('BEGIN PUBLIC KEY') PEM, not PKCS#1")
    s = sub.add_parser("server")
    s.add_argument("port_file")
    s.add_argument("--mrenclave", required=True)
    s.add_argument("secrets", nargs="+")
    for x in (c, s):
        x.add_argument("--initra", required=True)
        x.add_argument("--collateral", required=True)
    a = p.parse_args()
    return client(a) if a.mode == "client" else server(a)


if __name__ == "__main__":
    sys.exit(main())
