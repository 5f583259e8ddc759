#!/usr/bin/env bash
# Runs every suite of `make test` in turn, goes on past a failure so one run
# shows everything that is broken, and ends with one summary line.
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
pass=0
fail=0
failed=()
suite() {
    local name=$1; shift
    local t0=$SECONDS
    echo "=== $name"
    if "$@"; then
        pass=$((pass + 1)); echo "=== $name: passed ($((SECONDS - t0)) s)"
    else
        fail=$((fail + 1)); failed+=("$name"); echo "=== $name: FAILED ($((SECONDS - t0)) s)"
    fi
}
suite "lint" $MAKE --no-print-directory lint
suite "unit tests" $MAKE --no-print-directory unit
suite "unit tests under ASan+UBSan" $MAKE --no-print-directory unit-asan
suite "simulation" $MAKE --no-print-directory sim
suite "simulation finds injected bugs" $MAKE --no-print-directory sim-bugs
for t in tests/e2e/test_*.sh; do
    suite "e2e $(basename "$t" .sh)" bash "$t" "${BUILD:-build}/gongzhi"
done
suite "fuzz (8 s per target)" $MAKE --no-print-directory fuzz-short
[ ${#failed[@]} -eq 0 ] || echo "failed suites: ${failed[*]}"
echo "suites: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
