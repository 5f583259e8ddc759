#!/usr/bin/env bash
# End-to-end test of the auditor's commands against a real 4-validator devnet:
# anchor-proof + verify (and every top-level field of a bundle tampered with
# jq), verify-tx and verify-log round trips through saved files, and a
# proposal audit that matches the node, then one whose claimed tally was
# edited. Usage: tests/e2e/test_audit.sh path/to/gongzhi
set -u

GZ=${1:?usage: test_audit.sh path/to/gongzhi}
GZ=$(cd "$(dirname "$GZ")" && pwd)/$(basename "$GZ")
command -v jq >/dev/null || { echo "test_audit: jq is required"; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gz-audit-e2e.XXXXXX")
DEVNET_PID=
cleanup() {
    if [ -n "$DEVNET_PID" ] && kill -0 "$DEVNET_PID" 2>/dev/null; then
        kill -TERM "$DEVNET_PID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$DEVNET_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DEVNET_PID" 2>/dev/null
        wait "$DEVNET_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     | /' "$2" | tail -n 8; }

# expect NAME CODE [CHECK] -- command...: the command exits with CODE and, when
# CHECK is given, prints "FAIL CHECK:" (the check the tampering must break).
expect() {
    local name=$1 code=$2 check=$3
    shift 4
    local out="$WORK/out.txt"
    "$@" >"$out" 2>&1
    local rc=$?
    if [ "$rc" -ne "$code" ]; then
        fail "$name (exit $rc, expected $code)" "$out"
    elif [ -n "$check" ] && ! grep -q "^FAIL $check:" "$out"; then
        fail "$name (no \"FAIL $check:\")" "$out"
    else
        pass "$name"
    fi
}

# ---- a devnet of our own ------------------------------------------------------------

. "$(dirname "${BASH_SOURCE[0]}")/ports.sh"
BASE=$(e2e_base_port)
RPC=http://127.0.0.1:$BASE
NET=$WORK/net
"$GZ" devnet --validators 4 --dir "$NET" --base-port "$BASE" >"$WORK/devnet.log" 2>&1 &
DEVNET_PID=$!
GEN=$NET/genesis.json
KEYS=$NET/keys

height() { "$GZ" query status --rpc "$RPC" 2>/dev/null | jq -r '.height // 0'; }
up=0
for _ in $(seq 1 150); do
    h=$(height)
    if [ -n "$h" ] && [ "$h" -ge 2 ] 2>/dev/null; then up=1; break; fi
    sleep 0.1
done
if [ "$up" != 1 ]; then
    echo "test_audit: devnet did not start"
    cat "$WORK/devnet.log"
    for log in "$NET"/node*/node.log; do [ -f "$log" ] && { echo "-- $log"; tail -n 5 "$log"; }; done
    exit 1
fi

cd "$WORK" || exit 1
tx() { "$GZ" tx "$@" --rpc "$RPC" --wait >"$WORK/tx.json" 2>&1 || { cat "$WORK/tx.json"; return 1; }; }
A=$("$GZ" keygen --out alice.key)
B=$("$GZ" keygen --out bob.key)
C=$("$GZ" keygen --out carol.key)
tx account-set --account "$A" --level 8 --classes 1 --label alice --key "$KEYS/registrar.key" &&
    tx account-set --account "$B" --level 3 --label bob --key "$KEYS/registrar.key" &&
    tx account-set --account "$C" --level 9 --label carol --key "$KEYS/registrar.key" ||
    { echo "test_audit: cannot register accounts"; exit 1; }

# ---- anchors and bundles -------------------------------------------------------------

printf 'sketch\n' >f1
printf 'draft\n' >f2
printf 'final\n' >f3
sha() { sha256sum "$1" | cut -c1-64; }
tx anchor --file f1 --kind 1 --work w1 --key alice.key && H1=$(jq .height tx.json) && TX1=$(jq -r .txid tx.json) &&
    tx anchor --file f2 --kind 2 --work w1 --parent "$(sha f1)" --key alice.key &&
    tx anchor --file f3 --kind 3 --work w1 --parent "$(sha f2)" --key alice.key && H3=$(jq .height tx.json) ||
    { echo "test_audit: cannot anchor"; exit 1; }

expect "anchor-proof f1" 0 "" -- "$GZ" anchor-proof "$(sha f1)" --rpc "$RPC" --out b1.json
expect "anchor-proof --file f3" 0 "" -- "$GZ" anchor-proof --file f3 --rpc "$RPC" --out b3.json
expect "anchor-proof of an unknown artifact" 1 "" -- "$GZ" anchor-proof "$(printf x | sha256sum | cut -c1-64)" --rpc "$RPC"
expect "bundle keys are SPEC §5's, in order" 0 "" -- test "$(jq -c 'keys_unsorted' b3.json)" = \
    '["artifact","leaf","leaf_index","tree_size","audit_path","height","header","commit","validators"]'
expect "verify f1" 0 "" -- "$GZ" verify --genesis "$GEN" --bundle b1.json --file f1
grep -q "commit signatures: [34] of 4 validators" "$WORK/out.txt" && pass "verify prints the signers" || fail "verify prints the signers" "$WORK/out.txt"
expect "verify f3 (leaf 2 of 3)" 0 "" -- "$GZ" verify --genesis "$GEN" --bundle b3.json --file f3
grep -q "inclusion proof reaches header.log_root (leaf 2 of 3)" "$WORK/out.txt" && pass "f3 is leaf 2 of 3" || fail "f3 is leaf 2 of 3" "$WORK/out.txt"
expect "verify another file" 1 "file sha256" -- "$GZ" verify --genesis "$GEN" --bundle b3.json --file f2
expect "verify by hash" 0 "" -- "$GZ" verify --genesis "$GEN" --bundle b3.json --artifact "$(sha f3)"

# tamper NAME CHECK JQ-FILTER: the edited bundle fails CHECK.
tamper() {
    jq "$3" b3.json >t.json || { fail "$1 (jq)"; return; }
    expect "tampered $1" 1 "$2" -- "$GZ" verify --genesis "$GEN" --bundle t.json
}
flip_last() { echo "def flip: .[:-1] + (if .[-1:] == \"0\" then \"1\" else \"0\" end);"; }
tamper artifact "leaf artifact" ".artifact = \"$(sha f2)\""
tamper leaf "leaf time" "$(flip_last) .leaf |= flip"
tamper leaf_index "inclusion proof" '.leaf_index -= 1'
tamper "leaf_index (out of range)" "leaf index" '.leaf_index = .tree_size'
tamper tree_size "tree size" '.tree_size += 1'
tamper "audit_path entry" "inclusion proof" "$(flip_last) .audit_path[0] |= flip"
tamper "audit_path dropped" "inclusion proof" '.audit_path |= .[1:]'
tamper "audit_path added" "inclusion proof" '.audit_path += [.audit_path[0]]'
tamper height "height" '.height += 1'
tamper header "commit block" "$(flip_last) .header |= flip"
B1_COMMIT=$(jq -r .commit b1.json)
tamper "commit (another block's)" "commit block" ".commit = \"$B1_COMMIT\""
tamper "commit (a signature)" "commit signatures" "$(flip_last) .commit |= flip"
tamper "validators (power)" "validators hash" '.validators[0].power += 1'
tamper "validators (key)" "validators hash" ".validators[0].pub_key = \"$(sha f1)\""
tamper "validators (name)" "trusted validators" '.validators[1].name = "mallory"'
tamper "validators (order)" "validators hash" '.validators |= reverse'
tamper "malformed (no leaf)" "bundle" 'del(.leaf)'
grep -q "leaf: missing" "$WORK/out.txt" && pass "malformed names the field" || fail "malformed names the field" "$WORK/out.txt"
jq '.chain_id = "another-chain"' "$GEN" >g2.json
expect "another chain's genesis" 1 "chain id" -- "$GZ" verify --genesis g2.json --bundle b3.json
jq '.validators[2].power = 20' "$GEN" >g3.json
expect "another validator set in genesis" 1 "trusted validators" -- "$GZ" verify --genesis g3.json --bundle b3.json
expect "verify without --bundle" 2 "" -- "$GZ" verify --genesis "$GEN"

# ---- verify-tx --------------------------------------------------------------------------

expect "verify-tx online, saved" 0 "" -- "$GZ" verify-tx --genesis "$GEN" "$TX1" --rpc "$RPC" --out tx1.json
expect "verify-tx offline" 0 "" -- "$GZ" verify-tx --genesis "$GEN" --in tx1.json
grep -q "inclusion proof reaches header.tx_root" "$WORK/out.txt" && pass "verify-tx checks tx_root" || fail "verify-tx checks tx_root" "$WORK/out.txt"
jq '.proof.tree_size += 1' tx1.json >t.json
expect "verify-tx tampered tree_size" 1 "tree size" -- "$GZ" verify-tx --genesis "$GEN" --in t.json
jq "$(flip_last) .tx |= flip" tx1.json >t.json
expect "verify-tx tampered signature" 1 "tx signature" -- "$GZ" verify-tx --genesis "$GEN" --in t.json
jq ".txid = \"$(sha f1)\"" tx1.json >t.json
expect "verify-tx tampered txid" 1 "txid" -- "$GZ" verify-tx --genesis "$GEN" --in t.json
expect "verify-tx without TXID" 2 "" -- "$GZ" verify-tx --genesis "$GEN"

# ---- verify-log -------------------------------------------------------------------------

expect "verify-log online, saved" 0 "" -- "$GZ" verify-log --genesis "$GEN" --first "$H1" --second "$H3" --rpc "$RPC" --out log.json
expect "verify-log offline" 0 "" -- "$GZ" verify-log --genesis "$GEN" --in log.json
grep -q "extends the log at height $H1 (1 leaves)" "$WORK/out.txt" && pass "verify-log says what extends what" || fail "verify-log says what extends what" "$WORK/out.txt"
expect "verify-log from an empty log" 0 "" -- "$GZ" verify-log --genesis "$GEN" --first 1 --second "$H3" --rpc "$RPC"
jq "$(flip_last) .proof[0] |= flip" log.json >t.json
expect "verify-log tampered proof" 1 "consistency proof" -- "$GZ" verify-log --genesis "$GEN" --in t.json
jq '{first: .second, second: .first, proof, validators}' log.json >t.json
expect "verify-log swapped" 1 "log sizes" -- "$GZ" verify-log --genesis "$GEN" --in t.json
jq "$(flip_last) .second.header |= flip" log.json >t.json
expect "verify-log tampered header" 1 "second commit block" -- "$GZ" verify-log --genesis "$GEN" --in t.json
expect "verify-log heights reversed" 2 "" -- "$GZ" verify-log --genesis "$GEN" --first "$H3" --second "$H1" --rpc "$RPC"

# ---- a proposal audit ----------------------------------------------------------------------

tx proposal-create --kind 7 --subject e2e --title "audit me" --option yes --option no --min-level 8 \
    --voting-ms 4000 --key "$KEYS/governor.key" && P=$(jq -r .txid tx.json) || { echo "cannot create"; exit 1; }
tx vote --proposal "$P" --choice 0 --key alice.key
"$GZ" tx vote --proposal "$P" --choice 1 --key bob.key --rpc "$RPC" --wait >tx.json 2>&1
[ "$(jq .code tx.json)" = 6 ] && pass "bob (LV3) is refused" || fail "bob (LV3) is refused" tx.json
tx vote --proposal "$P" --choice 1 --key carol.key
tx vote --proposal "$P" --choice 0 --key carol.key
status=open
for _ in $(seq 1 100); do
    status=$("$GZ" query proposal proposal_id="$P" --rpc "$RPC" | jq -r .status)
    [ "$status" != open ] && break
    sleep 0.2
done
[ "$status" = passed ] && pass "proposal passed" || fail "proposal passed (status $status)"
expect "audit (replaying accounts from genesis)" 0 "" -- "$GZ" audit proposal "$P" --genesis "$GEN" --rpc "$RPC"
grep -q "^ok   tally \[2, 0\] = the node's" "$WORK/out.txt" && pass "audit recomputes [2, 0]" || fail "audit recomputes [2, 0]" "$WORK/out.txt"
grep -q "refused with code 6 (not eligible) as the node says" "$WORK/out.txt" && pass "audit re-derives bob's refusal" || fail "audit re-derives bob's refusal" "$WORK/out.txt"
expect "audit --from-creation" 0 "" -- "$GZ" audit proposal "$P" --genesis "$GEN" --rpc "$RPC" --from-creation
"$GZ" query proposal proposal_id="$P" --rpc "$RPC" >claim.json
expect "audit of the node's own claim, from a file" 0 "" -- "$GZ" audit proposal "$P" --genesis "$GEN" --rpc "$RPC" --proposal-json claim.json
jq '.tally[1] += 1' claim.json >wrong.json
expect "audit of a wrong tally" 1 "tally" -- "$GZ" audit proposal "$P" --genesis "$GEN" --rpc "$RPC" --proposal-json wrong.json
jq '.status = "tied" | .winner = null' claim.json >wrong.json
expect "audit of a wrong outcome" 1 "status" -- "$GZ" audit proposal "$P" --genesis "$GEN" --rpc "$RPC" --proposal-json wrong.json
jq '.turnout = 3 | .voters = 3' claim.json >wrong.json
expect "audit of a wrong turnout" 1 "turnout" -- "$GZ" audit proposal "$P" --genesis "$GEN" --rpc "$RPC" --proposal-json wrong.json
expect "audit with a bad id" 2 "" -- "$GZ" audit proposal xyz --genesis "$GEN" --rpc "$RPC"

echo "audit e2e: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
