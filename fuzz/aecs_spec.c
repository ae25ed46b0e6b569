/* libFuzzer target: create-secret spec files (YAML through libyaml, or JSON). */
#include "initra/aecs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_aecs_specs s;
    initra_err err;
    if (initra_aecs_specs_parse((const char *)data, size, "fuzz", &s, &err) == 0) initra_aecs_specs_free(&s);
    return 0;
}
