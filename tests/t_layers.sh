# The layering check (scripts/layers.sh): the tree passes, and a copy of it with one violation of each
# kind fails with one line naming the file, the line and the rule.
. tests/lib.sh
# 9 checks, and one per public header (each compiles on its own).
plan $((9 + $(ls include/initra/*.h | wc -l)))

check "the tree follows the module table of docs/architecture.md" sh scripts/layers.sh
grep -q '^layers: [0-9]* modules, [0-9]* files' "$T/out" && ok "it says what it checked: $(cat "$T/out")" ||
  not_ok "no summary line: $(cat "$T/out")"

# A fresh copy per case, with one edit.
copy() { rm -rf "$T/tree"; mkdir -p "$T/tree"; cp -r src include tools docs "$T/tree/"; }

copy; sed -i '1i #include "initra/kms.h"' "$T/tree/src/sgx/quote.c"
check_fails "a lower module including a higher one" 1 \
  '^layers: src/sgx/quote.c:1: sgx includes initra/kms.h; sgx may use only util \(docs/architecture.md\)$' \
  sh scripts/layers.sh "$T/tree"

copy; sed -i '1i #include "initra/enclave.h"' "$T/tree/include/initra/kms.h"
check_fails "a public header including a module its module may not use" 1 \
  '^layers: include/initra/kms.h:1: kms includes initra/enclave.h; kms may use only util sgx' \
  sh scripts/layers.sh "$T/tree"

copy; sed -i '1i #include "init/internal.h"' "$T/tree/src/kms/server.c"
check_fails "a module including another module's internal header" 1 \
  "^layers: src/kms/server.c:1: kms includes init/internal.h, another module's internals" \
  sh scripts/layers.sh "$T/tree"

copy; sed -i '1i #include "internal.h"' "$T/tree/src/policy/policy.c"
check_fails "an internal header included without its module's name" 1 \
  '^layers: src/policy/policy.c:1: policy includes "internal.h"; .* "policy/internal.h"$' \
  sh scripts/layers.sh "$T/tree"

copy; sed -i '1i #include "dcap/internal.h"' "$T/tree/tools/cmd_quote.c"
check_fails "the front-end including a module's internals" 1 \
  '^layers: tools/cmd_quote.c:1: tools includes "dcap/internal.h"; the front-end uses the public API only' \
  sh scripts/layers.sh "$T/tree"

copy; sed -i 's/^\(| sgx | `sgx.h` | .*| \)util |$/\1util, dcap |/' "$T/tree/docs/architecture.md"
check_fails "a table whose module may use one below it (a cycle)" 1 \
  '^layers: docs/architecture.md: sgx may use dcap, which is not above it in the table \(a cycle\)$' \
  sh scripts/layers.sh "$T/tree"

copy; mkdir "$T/tree/src/extra"; echo 'int x;' >"$T/tree/src/extra/x.c"
check_fails "a module without a row in the table" 1 \
  '^layers: src/extra: module extra has no row in docs/architecture.md$' \
  sh scripts/layers.sh "$T/tree"

# Each public header compiles on its own with the public include path only (no src/, no generated code).
for h in include/initra/*.h; do
  check "$h compiles on its own with -Iinclude" sh -c \
    'echo "#include \"initra/$(basename "$1")\"" | ${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only -Iinclude -x c -' _ "$h"
done
