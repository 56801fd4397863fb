#!/usr/bin/env bash
# layering-check.sh SRC_DIR protocol=LIB mock-frontend=LIB caseapi=LIB cases=LIB harness=LIB...
# Data flows one way: protocol -> mock-frontend -> caseapi -> cases ->
# harness.  Checked twice:
#   includes: a file includes project headers of its own folder and of the
#     folders below it only; harness/ includes one header of cases/, the
#     registry's;
#   symbols: no library uses a symbol defined in a library above it, and the
#     harness uses no symbol of the case files but the registry's.
# Several harness= arguments are joined (the library and the CLI's main).
set -euo pipefail
src=$1
shift
fail() { echo "FAIL: $*" >&2; status=1; }
status=0
layers=(protocol mock-frontend caseapi cases harness)

# ---- includes ----
declare -A owner
for dir in "${layers[@]}"; do
    for h in "$src/$dir"/*.h "$src/$dir"/*.def; do
        [ -e "$h" ] && owner[$(basename "$h")]=$dir
    done
done
rank() {
    local i
    for i in "${!layers[@]}"; do
        if [ "${layers[$i]}" = "$1" ]; then echo "$i"; fi
    done
}
for dir in "${layers[@]}"; do
    mine=$(rank "$dir")
    for f in "$src/$dir"/*.[ch]; do
        while read -r h; do
            there=${owner[$h]:-}
            [ -n "$there" ] || continue          # a system or generated header
            [ "$dir" = harness ] && [ "$h" = registry.h ] && continue
            if [ "$(rank "$there")" -gt "$mine" ] ||
               { [ "$dir" = harness ] && [ "$there" = cases ]; }; then
                fail "$dir/$(basename "$f") includes $there/$h"
            fi
        done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
    done
done

# ---- symbols ----
declare -A lib
for arg in "$@"; do
    files=${arg#*=}
    lib[${arg%%=*}]="${lib[${arg%%=*}]:-} ${files//;/ }"
done
defined() { nm -g --defined-only "$@" | awk 'NF == 3 && $3 !~ /^__/ {print $3}' | sort -u; }
used() { nm -u "$@" | awk '{print $NF}' | sort -u; }
for i in "${!layers[@]}"; do
    low=${layers[$i]}
    [ -n "${lib[$low]:-}" ] || { fail "no library given for $low"; continue; }
    for high in "${layers[@]:$((i + 1))}"; do
        [ -n "${lib[$high]:-}" ] || continue
        bad=$(comm -12 <(used ${lib[$low]}) <(defined ${lib[$high]}) | tr '\n' ' ')
        [ -z "$bad" ] || fail "$low uses symbols of $high: $bad"
    done
done
registry=$(nm -g --defined-only ${lib[cases]} |
           awk '/^registry\.c\.o:/ {r = 1; next} /\.o:$/ {r = 0} r && NF == 3 {print $3}' | sort -u)
[ -n "$registry" ] || fail "no registry.c.o in the cases library"
bad=$(comm -12 <(used ${lib[harness]}) <(defined ${lib[cases]}) |
      comm -23 - <(echo "$registry") | tr '\n' ' ')
[ -z "$bad" ] || fail "harness uses symbols of case files other than the registry: $bad"

[ "$status" = 0 ] && echo "layering: protocol -> mock-frontend -> caseapi -> cases -> harness holds"
exit "$status"
