/* libFuzzer target: SecretRequest / SecretReply (proto/ratls.proto) from untrusted bytes, unpacked
 * with protobuf-c as the KMS and the init client do. Whatever unpacks without unknown fields re-packs
 * to bytes that unpack to the same string. (Messages with unknown fields are only unpacked and freed:
 * protobuf-c 1.4 accepts field number 0, which the spec forbids, when its tag is a non-minimal varint
 * (80 00), keeps it as an unknown field, re-packs it minimally (00) and then refuses its own output;
 * harmless for us, as we never re-pack a received message.) */
#include <stdlib.h>
#include <string.h>

#include "ratls.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Ratls__SecretRequest *q = ratls__secret_request__unpack(NULL, size, data);
    if (q && q->base.n_unknown_fields == 0) {
        size_t n = ratls__secret_request__get_packed_size(q);
        uint8_t *buf = malloc(n ? n : 1);
        if (ratls__secret_request__pack(q, buf) != n) abort();
        Ratls__SecretRequest *back = ratls__secret_request__unpack(NULL, n, buf);
        if (!back || strcmp(back->name, q->name) != 0) abort();
        ratls__secret_request__free_unpacked(back, NULL);
        free(buf);
    }
    if (q) ratls__secret_request__free_unpacked(q, NULL);
    Ratls__SecretReply *r = ratls__secret_reply__unpack(NULL, size, data);
    if (r && r->base.n_unknown_fields == 0) {
        size_t n = ratls__secret_reply__get_packed_size(r);
        uint8_t *buf = malloc(n ? n : 1);
        if (ratls__secret_reply__pack(r, buf) != n) abort();
        Ratls__SecretReply *back = ratls__secret_reply__unpack(NULL, n, buf);
        if (!back || strcmp(back->secret, r->secret) != 0) abort();
        ratls__secret_reply__free_unpacked(back, NULL);
        free(buf);
    }
    if (r) ratls__secret_reply__free_unpacked(r, NULL);
    return 0;
}
