/* libFuzzer target: GetEnclaveSecretRequest bytes through the server's handler and the same bytes as a
 * GetEnclaveSecretResponse through the client's opening, with a quote "verifier" that only parses (so
 * the paths after verification are reached by inputs carrying a parsable quote). */
#include <string.h>

#include "aecs/internal.h"
#include "initra/aecs.h"

static int parse_only(void *ctx, const uint8_t *quote, size_t len, const char *collateral, time_t at,
                      initra_sgx_report_body *body, initra_err *err)
{
    initra_quote q;
    if (initra_quote_parse(quote, len, &q, err)) return -1;
    *body = q.enclave;
    return 0;
}

static EVP_PKEY *key;
static char *pem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_err err;
    if (!key) {
        key = aecs_rsa_generate(2048, &err);
        pem = initra_aecs_rsa_public_pem(key, &err);
        if (!key || !pem) return 0;
    }
    static const char store_json[] = "{\"version\":1,\"services\":[\"s\"],\"secrets\":[{\"service\":\"s\",\"name\":\"k\","
                                     "\"type\":\"IMPORT_DATA\",\"data\":\"v\",\"policy\":[{}]}]}";
    initra_aecs_store st;
    if (initra_aecs_store_from_json(store_json, strlen(store_json), "fuzz", &st, &err)) return 0;
    initra_ua_auth_report self = {{"1.0", "Passport", "SGX_DCAP", "{}", ""}, pem};
    initra_aecs_server srv = {.store = &st, .key = key, .self = &self, .verify = parse_only};
    uint8_t *resp;
    size_t rl;
    if (initra_aecs_handle(&srv, data, size, 0, &resp, &rl, NULL, &err) == INITRA_RPC_OK) initra_free_secret(resp, rl);
    initra_aecs_client cli = {key, &self, parse_only, NULL, NULL};
    uint8_t *sec;
    size_t n;
    if (aecs_response_open(&cli, data, size, "NONCE", 0, &sec, &n, &err) == 0) initra_free_secret(sec, n + 1);
    initra_aecs_store_free(&st);
    return 0;
}
