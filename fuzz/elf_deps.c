/* libFuzzer target: ELF PT_INTERP / DT_NEEDED parsing (any file a user puts into an image). */
#include "enclave/internal.h"
#include "initra/enclave.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_elf_deps d;
    initra_err err;
    if (enclave_elf_parse_deps(data, size, &d, &err) == 0) enclave_elf_deps_free(&d);
    return 0;
}
