"""A Python grpcio peer speaking ratls.GrSecret (proto/ratls.proto), for tests/t_rpc_interop.sh.

  grsecret.py client TARGET NAME --root PEM [--cert PEM --key PEM] [--override CN]
      prints the secret; on an RPC error prints "ERROR <CODE> <details>" to stderr and exits 1.
  grsecret.py server PORT_FILE SECRET --cert PEM --key PEM --client-root PEM
      serves GetSecret (name "demo_key" -> SECRET, else NOT_FOUND) with require_client_auth=True and
      the given certificate as the only client root; runs until killed.
  grsecret.py server PORT_FILE SECRET --cert PEM --key PEM --unavailable MESSAGE [--only NAME]
      answers every GetSecret (with --only: those for NAME; the others as above) with status UNAVAILABLE
      and MESSAGE (what a gRPC server says when it cannot serve now); no client certificate is requested.
      Its --cert is what clients verify (tests give it an RA-TLS certificate with sim evidence, `initra sim
      ratls-cert`).
Run with Debian's /usr/bin/python3 (python3-grpcio, python3-protobuf).
"""
import argparse
import sys
from concurrent import futures

import grpc

from serve_util import publish_and_serve
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

METHOD = "/ratls.GrSecret/GetSecret"


def messages():
    """SecretRequest / SecretReply built from the same definition as proto/ratls.proto."""
    fdp = descriptor_pb2.FileDescriptorProto(name="ratls.proto", package="ratls", syntax="proto3")
    for msg, field in (("SecretRequest", "name"), ("SecretReply", "secret")):
        m = fdp.message_type.add(name=msg)
        m.field.add(name=field, number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                    label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    get = getattr(message_factory, "GetMessageClass", None)
    if get is None:
        factory = message_factory.MessageFactory(pool)
        get = factory.GetPrototype
    return (get(pool.FindMessageTypeByName("ratls.SecretRequest")),
            get(pool.FindMessageTypeByName("ratls.SecretReply")))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def client(a):
    req_cls, rep_cls = messages()
    creds = grpc.ssl_channel_credentials(
        root_certificates=read(a.root),
        private_key=read(a.key) if a.key else None,
        certificate_chain=read(a.cert) if a.cert else None)
    options = [("grpc.ssl_target_name_override", a.override)] if a.override else []
    with grpc.secure_channel(a.target, creds, options=options) as ch:
        call = ch.unary_unary(METHOD, request_serializer=req_cls.SerializeToString,
                              response_deserializer=rep_cls.FromString)
        try:
            reply = call(req_cls(name=a.name), timeout=5)
        except grpc.RpcError as e:
            details = (e.details() or "").replace("\n", " ")
            print("ERROR %s %s" % (e.code().name, details), file=sys.stderr)
            return 1
    print(reply.secret)
    return 0


def server(a):
    req_cls, rep_cls = messages()

    def get_secret(request, context):
        if a.unavailable and (a.only is None or request.name == a.only):
            context.abort(grpc.StatusCode.UNAVAILABLE, a.unavailable)
        if request.name != "demo_key":
            context.abort(grpc.StatusCode.NOT_FOUND, "no secret named %r" % request.name)
        return rep_cls(secret=a.secret)

    handler = grpc.method_handlers_generic_handler("ratls.GrSecret", {
        "GetSecret": grpc.unary_unary_rpc_method_handler(
            get_secret, request_deserializer=req_cls.FromString,
            response_serializer=rep_cls.SerializeToString)})
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[handler])
    if a.unavailable:
        creds = grpc.ssl_server_credentials([(read(a.key), read(a.cert))])
    else:
        creds = grpc.ssl_server_credentials([(read(a.key), read(a.cert))],
                                            root_certificates=read(a.client_root),
                                            require_client_auth=True)
    port = srv.add_secure_port("127.0.0.1:0", creds)
    return publish_and_serve(srv, port, a.port_file)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("client")
    c.add_argument("target")
    c.add_argument("name")
    c.add_argument("--root", required=True)
    c.add_argument("--cert")
    c.add_argument("--key")
    c.add_argument("--override")
    s = sub.add_parser("server")
    s.add_argument("port_file")
    s.add_argument("secret")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--client-root")
    g.add_argument("--unavailable", metavar="MESSAGE")
    s.add_argument("--only", metavar="NAME", help="with --unavailable: only calls for NAME")
    a = p.parse_args()
    return client(a) if a.mode == "client" else server(a)


if __name__ == "__main__":
    sys.exit(main())
