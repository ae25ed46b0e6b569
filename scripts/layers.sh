#!/bin/sh
# The layering check: every #include of src/, include/initra/ and tools/ against the module table of
# docs/architecture.md (module | header | what it is for | may use). Prints one line per violation on
# stderr and exits 1 if there is any; else one summary line on stdout. `sh scripts/layers.sh [ROOT]` (default: this tree).
#   - src/M/* and include/initra/M.h may include "initra/M.h" and "initra/X.h" for X in M's row, and
#     "M/internal.h" (a module's internal header, never another module's);
#   - tools/ may include public headers and its own files only (it is built with -Iinclude);
#   - each module in the table uses only modules listed above it (so the graph has no cycle), and every
#     directory of src/ has a row.
set -u
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT" || exit 2
DOC=docs/architecture.md
[ -f "$DOC" ] || { echo "layers: $DOC not found under $ROOT"; exit 2; }
{
  # The table: rows "| name | `name.h` | ... | a, b (comment) |" -> "T name a b".
  awk -F'|' '$3 ~ /^ *`[a-z]+\.h` *$/ {
      m = $2; gsub(/ /, "", m); u = $(NF-1); gsub(/\([^)]*\)/, "", u); gsub(/[,-]/, " ", u)
      printf "T %s%s\n", m, (u ~ /[a-z]/ ? " " u : "") }' "$DOC" | tr -s ' '
  for d in src/*/; do d=${d%/}; echo "D ${d#src/}"; done
  # Quoted includes: "I file line module target".
  for f in src/*/*.[ch] include/initra/*.h tools/*.[ch]; do
    [ -f "$f" ] || continue
    case $f in
      src/*) m=${f#src/}; m=${m%%/*} ;;
      include/initra/*) m=${f#include/initra/}; m=${m%.h} ;;
      tools/*) m=tools ;;
    esac
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed 's/^\([0-9]*\):.*"\(.*\)".*/\1 \2/' |
      while read -r line target; do echo "I $f $line $m $target"; done
  done
} | awk -v doc="$DOC" '
  $1 == "T" { n++; order[$2] = n; mods[n] = $2; uses[$2] = ""; for (i = 3; i <= NF; i++) uses[$2] = uses[$2] " " $i; next }
  $1 == "D" { dirs[$2] = 1; next }
  $1 == "I" {
    f = $2; l = $3; m = $4; t = $5; files[f] = 1
    if (t ~ /\.pb-c\.h$/ && m != "tools") next
    if (m == "tools") {
      if (t ~ /^initra\/[a-z]+\.h$/) { x = t; sub(/^initra\//, "", x); sub(/\.h$/, "", x)
        if (!(x in order)) bad(f ":" l ": tools includes " t ", which is no module header of " doc); next }
      if (t !~ /\//) next   # a file of tools/ itself
      bad(f ":" l ": tools includes \"" t "\"; the front-end uses the public API only (include/initra/*.h)"); next
    }
    if (t ~ /^initra\/[a-z]+\.h$/) {
      x = t; sub(/^initra\//, "", x); sub(/\.h$/, "", x)
      if (x == m) next
      if (!(m in order)) { bad(f ":" l ": module " m " has no row in " doc); next }
      if (index(uses[m] " ", " " x " ") == 0)
        bad(f ":" l ": " m " includes " t "; " m " may use only" (uses[m] == "" ? " nothing" : uses[m]) " (" doc ")")
      next
    }
    if (t == m "/internal.h") next
    if (t ~ /^[a-z]+\/internal\.h$/) { bad(f ":" l ": " m " includes " t ", another module'"'"'s internals; use its public header"); next }
    bad(f ":" l ": " m " includes \"" t "\"; a module includes public headers as \"initra/X.h\" and its own internals as \"" m "/internal.h\"")
  }
  function bad(s) { print "layers: " s > "/dev/stderr"; nbad++ }
  END {
    if (n == 0) { print "layers: no module table found in " doc > "/dev/stderr"; exit 2 }
    for (d in dirs) if (!(d in order)) bad("src/" d ": module " d " has no row in " doc)
    for (i = 1; i <= n; i++) {
      k = split(uses[mods[i]], u, " ")
      for (j = 1; j <= k; j++) {
        if (!(u[j] in order)) bad(doc ": " mods[i] " may use " u[j] ", which has no row")
        else if (order[u[j]] >= i) bad(doc ": " mods[i] " may use " u[j] ", which is not above it in the table (a cycle)")
      }
    }
    nf = 0; for (f in files) nf++
    if (nbad) exit 1
    printf "layers: %d modules, %d files, every #include as %s allows\n", n, nf, doc
  }'
