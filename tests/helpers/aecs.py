"""An AECS v2.0.0 peer built from the upstream protocol definitions, for tests/t_aecs.sh.

Messages: asterinas/jinzhao-attest at 6133036 (the Unified Attestation library Occlum's AECS pins),
ual/proto/attestation.proto (UnifiedAttestationReport, UnifiedAttestationAuthReport, DcapReport,
SgxQlQveCollateral, with their field numbers and json_name options) and ual/proto/crypto.proto
(SymmetricKeyEncrypted, DigitalEnvelopeEncrypted); occlum/enclave-configuration-service proto/aecs.proto
(GetEnclaveSecretRequest/Response, /kubetee.Aecs/GetEnclaveSecret). Reports are written as UAL writes
them (generator_sgx_dcap.cpp: protobuf's JSON printer; pccs_client.cpp: SgxQlQveCollateral holds the raw
PCCS bodies, version = the API version of UAL's default URL .../v3/) and read as UAL reads them
(common/protobuf.h JSON2PB: protobuf's JSON parser at default options, which rejects unknown fields;
then Intel's QVL: tcbInfo/enclaveIdentity and signature from inside the bodies, the signature over the
compact serialisation of the signed object, CRLs PEM or hex of DER).

  aecs.py client TARGET SERVICE SECRET --initra BIN --mrsigner HEX --collateral FILE [--server-json F]
      [--break-quote-signature] [--garbage-collateral BYTES]
      an RSA-2048 key (PKCS#1 PEM) and an upstream-shaped Passport whose quote binds nonce and key; the
      server's reply parsed like UAL, its quote bound to its key, the envelope opened; prints the secret.
      On an RPC error prints "ERROR <CODE> <details>" to stderr and exits 1.
  aecs.py server PORT_FILE --initra BIN --mrenclave HEX --collateral FILE SERVICE/NAME=VALUE...
      serves those secrets; every request's report is first parsed like UAL (an unparsable one is
      answered INVALID_ARGUMENT "UAL parse: ..."); PORT_FILE.log gets one line per request.
FILE is the simulated platform's collateral (`initra sim collateral`): the pieces a PCCS serves, from
which the PCCS bodies are rebuilt here. Run with Debian's /usr/bin/python3 (python3-grpcio,
python3-protobuf, python3-cryptography).
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
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

from serve_util import publish_and_serve

METHOD = "/kubetee.Aecs/GetEnclaveSecret"
F = descriptor_pb2.FieldDescriptorProto
S, B, M, I64 = F.TYPE_STRING, F.TYPE_BYTES, F.TYPE_MESSAGE, F.TYPE_INT64

# message -> [(field, number, type, message type, json_name)], as the upstream .proto files declare them.
FIELDS = {
    # ual/proto/attestation.proto (every field has json_name = its name)
    "UnifiedAttestationReport": [("str_report_version", 1, S, None, "str_report_version"),
                                 ("str_report_type", 2, S, None, "str_report_type"),
                                 ("str_tee_platform", 3, S, None, "str_tee_platform"),
                                 ("json_report", 4, S, None, "json_report"),
                                 ("json_nested_reports", 9, S, None, "json_nested_reports")],
    "UnifiedAttestationAuthReport": [("report", 1, M, "UnifiedAttestationReport", "report"),
                                     ("pem_public_key", 2, S, None, "pem_public_key")],
    "DcapReport": [("b64_quote", 1, S, None, "b64_quote"), ("json_collateral", 2, S, None, "json_collateral")],
    "SgxQlQveCollateral": [("version", 1, I64, None, "version"),
                           ("pck_crl_issuer_chain", 2, S, None, "pck_crl_issuer_chain"),
                           ("root_ca_crl", 3, S, None, "root_ca_crl"), ("pck_crl", 4, S, None, "pck_crl"),
                           ("tcb_info_issuer_chain", 5, S, None, "tcb_info_issuer_chain"),
                           ("tcb_info", 6, S, None, "tcb_info"),
                           ("qe_identity_issuer_chain", 7, S, None, "qe_identity_issuer_chain"),
                           ("qe_identity", 8, S, None, "qe_identity")],
    # ual/proto/crypto.proto (no json_name options)
    "SymmetricKeyEncrypted": [("cipher", 1, B, None, None), ("mac", 2, B, None, None), ("aad", 3, B, None, None),
                              ("iv", 4, B, None, None)],
    "DigitalEnvelopeEncrypted": [("aes_cipher", 1, M, "SymmetricKeyEncrypted", None),
                                 ("encrypted_key", 2, B, None, None), ("plain_hash", 3, B, None, None),
                                 ("plain_hash_sig", 4, B, None, None)],
    # enclave-configuration-service proto/aecs.proto
    "GetEnclaveSecretRequest": [("auth_ra_report", 1, M, "UnifiedAttestationAuthReport", None),
                                ("service_name", 2, S, None, None), ("secret_name", 3, S, None, None),
                                ("nonce", 4, S, None, None)],
    "GetEnclaveSecretResponse": [("auth_ra_report", 1, M, "UnifiedAttestationAuthReport", None),
                                 ("secret_enc", 2, M, "DigitalEnvelopeEncrypted", None)],
}


def messages():
    fdp = descriptor_pb2.FileDescriptorProto(name="kubetee_upstream_test.proto", package="kubetee", syntax="proto3")
    for name, fields in FIELDS.items():
        m = fdp.message_type.add(name=name)
        for fname, num, typ, tname, jname in fields:
            f = m.field.add(name=fname, number=num, type=typ, label=F.LABEL_OPTIONAL)
            if tname:
                f.type_name = ".kubetee." + tname
            if jname:
                f.json_name = jname
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    get = getattr(message_factory, "GetMessageClass", None)
    if get is None:
        get = message_factory.MessageFactory(pool).GetPrototype
    return {n: get(pool.FindMessageTypeByName("kubetee." + n)) for n in FIELDS}


MSGS = messages()


def pb2json(msg):
    """UAL's PB2JSON: protobuf's JSON printer at default options (compact here, as C++ prints it)."""
    return json.dumps(json.loads(json_format.MessageToJson(msg)), separators=(",", ":"))


def json2pb(text, name):
    """UAL's JSON2PB: protobuf's JSON parser at default options (unknown fields are errors)."""
    return json_format.Parse(text, MSGS[name]())


# ---- collateral as UAL's PccsClient stores it ----

def pccs_collateral(path):
    """SgxQlQveCollateral filled as PccsClient::GetCollateral fills it from a PCCS (API v3): the raw
    response bodies, the URL-decoded issuer chain headers. The PCCS's pieces come from the simulated
    platform's collateral file; the bodies are rebuilt exactly as a PCCS serves them."""
    b = json.load(open(path))
    body = lambda key, text, sig: '{"%s":%s,"signature":"%s"}' % (key, text, sig)
    pck_pem = x509.load_der_x509_crl(bytes.fromhex(b["pck_crl"])).public_bytes(serialization.Encoding.PEM).decode()
    return MSGS["SgxQlQveCollateral"](
        version=3,                                  # GetApiVersion() of .../sgx/certification/v3/
        pck_crl_issuer_chain=b["pck_crl_issuer_chain"],
        root_ca_crl=b["root_ca_crl"],              # GET rootcacrl: hex of the DER CRL
        pck_crl=pck_pem,                            # GET pckcrl?ca=...: PEM (no encoding parameter)
        tcb_info_issuer_chain=b["tcb_info_issuer_chain"],
        tcb_info=body("tcbInfo", b["tcb_info"], b["tcb_info_signature"]),
        qe_identity_issuer_chain=b["qe_identity_issuer_chain"],
        qe_identity=body("enclaveIdentity", b["qe_identity"], b["qe_identity_signature"]))


def qvl_crl(s):
    """CrlStore::parse: PEM when it holds "X509 CRL" near the start, else hex of DER."""
    if s.rfind("X509 CRL", 0, 12 + len("X509 CRL")) != -1:
        return x509.load_pem_x509_crl(s.encode())
    return x509.load_der_x509_crl(bytes.fromhex(s))


def qvl_signed(body, key, chain):
    """TcbInfo / EnclaveIdentityParser: the signed object and the signature from inside the body; the
    signature verified over the compact serialisation of the object by the chain's signing certificate."""
    o = json.loads(body)
    assert set(o) == {key, "signature"}, "%s body keys: %s" % (key, sorted(o))
    sig = bytes.fromhex(o["signature"])
    assert len(sig) == 64, "%s signature is not 64 bytes" % key
    end = "-----END CERTIFICATE-----"
    signer = x509.load_pem_x509_certificate(chain[:chain.index(end) + len(end)].encode())
    signed = json.dumps(o[key], separators=(",", ":")).encode()
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    signer.public_key().verify(der, signed, ec.ECDSA(hashes.SHA256()))
    return o[key]


def ual_parse(report):
    """AttestationVerifierSgxDcap::Initialize and InitializeCollateralData: the DcapReport and its
    SgxQlQveCollateral through JSON2PB, every field set, then what the QVL reads of them. The quote."""
    assert report.str_tee_platform == "SGX_DCAP", report.str_tee_platform
    assert report.str_report_type == "Passport", report.str_report_type
    dcap = json2pb(report.json_report, "DcapReport")
    coll = json2pb(dcap.json_collateral, "SgxQlQveCollateral")
    assert coll.version in (1, 3), "collateral version %d" % coll.version
    for f, _, _, _, _ in FIELDS["SgxQlQveCollateral"][1:]:
        assert getattr(coll, f), "collateral %s is empty" % f
    qvl_signed(coll.tcb_info, "tcbInfo", coll.tcb_info_issuer_chain)
    qvl_signed(coll.qe_identity, "enclaveIdentity", coll.qe_identity_issuer_chain)
    qvl_crl(coll.root_ca_crl)
    qvl_crl(coll.pck_crl)
    return base64.b64decode(dcap.b64_quote, validate=True), coll


# ---- Passports and envelopes ----

def new_key(spki=False):
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo if spki else serialization.PublicFormat.PKCS1
    pem = k.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode()
    return k, pem


def passport(a, pem, first32, identity, break_sig=False, garbage=0):
    """A Passport for pem: report_data = first32 (zero padded to 32 bytes) || SHA-256(pem)."""
    rd = first32.ljust(32, b"\0") + hashlib.sha256(pem.encode()).digest()
    with tempfile.TemporaryDirectory() as d:
        q = os.path.join(d, "q")
        subprocess.run([a.initra, "sim", "quote"] + identity + ["--report-data", rd.hex(), "-o", q], check=True)
        quote = bytearray(open(q, "rb").read())
    if break_sig:
        quote[48 + 384 + 4 + 10] ^= 1   # a byte of the quote's ECDSA signature (after header, body, length)
    coll = "x" * garbage if garbage else pb2json(pccs_collateral(a.collateral))
    dcap = MSGS["DcapReport"](b64_quote=base64.b64encode(bytes(quote)).decode(), json_collateral=coll)
    r = MSGS["UnifiedAttestationReport"](str_report_version="1.0", str_report_type="Passport",
                                         str_tee_platform="SGX_DCAP", json_report=pb2json(dcap))
    return MSGS["UnifiedAttestationAuthReport"](report=r, pem_public_key=pem)


def seal(plain, recipient_pem, signer, aad):
    key, iv = os.urandom(32), os.urandom(12)
    ct = AESGCM(key).encrypt(iv, plain, aad)
    pub = serialization.load_pem_public_key(recipient_pem.encode())
    ek = pub.encrypt(key, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    h = hashlib.sha256(plain).hexdigest().upper().encode()
    sig = signer.sign(h, padding.PKCS1v15(), hashes.SHA256())
    sym = MSGS["SymmetricKeyEncrypted"](cipher=ct[:-16], mac=ct[-16:], aad=aad, iv=iv)
    return MSGS["DigitalEnvelopeEncrypted"](aes_cipher=sym, encrypted_key=ek, plain_hash=h, plain_hash_sig=sig)


def client(a):
    key, pem = new_key(a.spki)
    nonce = os.urandom(16).hex().upper()
    auth = passport(a, pem, bytes.fromhex(nonce), ["--mrsigner", a.mrsigner], a.break_quote_signature,
                    a.garbage_collateral)
    req = MSGS["GetEnclaveSecretRequest"](auth_ra_report=auth, service_name=a.service, secret_name=a.secret,
                                          nonce=nonce)
    with grpc.insecure_channel(a.target, options=[("grpc.max_send_message_length", 16 << 20)]) as ch:
        call = ch.unary_unary(METHOD, request_serializer=lambda m: m.SerializeToString(),
                              response_deserializer=MSGS["GetEnclaveSecretResponse"].FromString)
        try:
            rs = call(req, timeout=20)
        except grpc.RpcError as e:
            print("ERROR %s %s" % (e.code().name, (e.details() or "").replace("\n", " ")), file=sys.stderr)
            return 1
    spem = rs.auth_ra_report.pem_public_key
    quote, _ = ual_parse(rs.auth_ra_report.report)
    if a.server_json:
        open(a.server_json, "w").write(rs.auth_ra_report.report.json_report)
    assert spem.startswith("-----BEGIN RSA PUBLIC KEY-----"), "server key is not PKCS#1"
    assert quote[48 + 320 + 32:48 + 320 + 64] == hashlib.sha256(spem.encode()).digest(), "server quote does not bind its key"
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
    key, pem = new_key()
    auth = passport(a, pem, b"", ["--mrenclave", a.mrenclave])
    secrets = {}
    for s in a.secrets:
        name, value = s.split("=", 1)
        secrets[name] = value.encode()

    def log(line):
        with open(a.port_file + ".log", "a") as f:
            f.write(line + "\n")

    def get(req, context):
        try:
            _, coll = ual_parse(req.auth_ra_report.report)
        except Exception as e:  # what UAL would refuse before looking at the quote
            log("UAL parse refused %s/%s: %s" % (req.service_name, req.secret_name, e))
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "UAL parse: %s" % e)
        plain = secrets.get(req.service_name + "/" + req.secret_name)
        if plain is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no secret %s/%s" % (req.service_name, req.secret_name))
        aad = req.nonce.encode() if req.nonce else b"Enclave"
        env = seal(plain, req.auth_ra_report.pem_public_key, key, aad)
        log("served %s/%s collateral_version=%d nonce=%s" % (req.service_name, req.secret_name, coll.version,
                                                             req.nonce))
        return MSGS["GetEnclaveSecretResponse"](auth_ra_report=auth, secret_enc=env)

    handler = grpc.method_handlers_generic_handler("kubetee.Aecs", {
        "GetEnclaveSecret": grpc.unary_unary_rpc_method_handler(
            get, request_deserializer=MSGS["GetEnclaveSecretRequest"].FromString,
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
    c.add_argument("--server-json", help="write the server's json_report here")
    c.add_argument("--spki", action="store_true", help="send an SPKI ('BEGIN PUBLIC KEY') PEM, not PKCS#1")
    c.add_argument("--break-quote-signature", action="store_true", help="flip a bit of the quote's signature")
    c.add_argument("--garbage-collateral", type=int, default=0, help="json_collateral = this many 'x' bytes")
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
