/* libFuzzer target: init_ra_conf.json (GRPC-RATLS schema, with its ra_config policy). */
#include "init/internal.h"
#include "initra/init.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_init_conf c;
    initra_err err;
    if (init_conf_parse((const char *)data, size, "fuzz.json", &c, &err) == 0) initra_init_conf_free(&c);
    return 0;
}
