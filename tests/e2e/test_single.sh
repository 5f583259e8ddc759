#!/usr/bin/env bash
# One validator (SPEC §9 devnet --validators 1): register an account, anchor a
# file and read the anchor back over JSON-RPC; every kind of bad input gets its
# error code and a message naming the field, and the node keeps serving.
set -u
. "$(dirname "$0")/lib.sh"

BASE=$(e2e_base_port)
URL=http://127.0.0.1:$BASE
NET=$E2E_DIR/net
mkdir -p "$NET"
start_devnet "$NET" 1 "$BASE"
check "devnet with one validator answers status" wait_for 15 height_at_least "$URL" 1

cd "$E2E_DIR"
ALICE=$("$GZ" keygen --out alice.key)
check "keygen prints a 64-hex public key" test "${#ALICE}" -eq 64
check "key file is mode 0600" test "$(stat -c %a alice.key)" = 600
out=$("$GZ" tx account-set --account "$ALICE" --level 8 --classes 1 --label alice \
      --key "$NET/keys/registrar.key" --rpc "$URL" --wait)
check "registrar registers alice (code 0)" test "$(jq -r .code <<<"$out")" = 0
acct=$("$GZ" query account account="$ALICE" --rpc "$URL")
check "account reads back with level 8" test "$(jq -r .level <<<"$acct")" = 8

echo "first sketch of work w1" > sketch.txt
ART=$(sha256sum sketch.txt | cut -c1-64)
out=$("$GZ" tx anchor --file sketch.txt --kind 1 --work w1 --media-type text/plain --key alice.key --rpc "$URL" --wait)
check "alice anchors the sketch (code 0)" test "$(jq -r .code <<<"$out")" = 0
anc=$("$GZ" query anchor artifact="$ART" --rpc "$URL")
check "anchor reads back with its artifact" test "$(jq -r .artifact <<<"$anc")" = "$ART"
check "anchor names its signer" test "$(jq -r .signer <<<"$anc")" = "$ALICE"
check "anchor carries a proof bundle" test "$(jq -r .bundle.tree_size <<<"$anc")" -ge 1
out=$("$GZ" tx anchor --file sketch.txt --kind 1 --work w1 --key alice.key --rpc "$URL" --wait)
check "the same artifact again is refused with code 8" test "$(jq -r .code <<<"$out")" = 8
echo "draft" > draft.txt
out=$("$GZ" tx anchor --file draft.txt --kind 2 --work w1 --parent "$ART" --key alice.key --rpc "$URL" --wait)
check "a draft chained to the sketch is accepted" test "$(jq -r .code <<<"$out")" = 0
work=$("$GZ" query work work_id=w1 --rpc "$URL")
check "work w1 lists two anchors in chain order" test "$(jq -r '.anchors | map(.kind) | join(",")' <<<"$work")" = "1,2"

# ---- bad input: HTTP and JSON-RPC --------------------------------------------
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary 'x' -H 'Content-Length: 99999999999' "$URL/rpc")
check "an oversized body is refused with HTTP 413" test "$code" = 413
r=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1; printf "GARBAGE\r\n\r\n" >&3; head -1 <&3' _ "$BASE")
check "malformed HTTP gets 400" grep -q 400 <<<"$r"
r=$(curl -s -X POST --data '{"jsonrpc":"2.0","id":1,"method":' "$URL/rpc")
check "invalid JSON is -32700" test "$(jq -r .error.code <<<"$r")" = -32700
r=$(rpc "$URL" no_such_method '{}')
check "an unknown method is -32601" test "$(jq -r .error.code <<<"$r")" = -32601
r=$(rpc "$URL" block '{"height":"ten"}')
check "bad params are -32602 naming the field" bash -c '[ "$(jq -r .error.code <<<"$1")" = -32602 ] && grep -q "params.height" <<<"$1"' _ "$r"
r=$(rpc "$URL" submit_tx '{"tx":"zz"}')
check "bad hex is -32602 naming params.tx" bash -c '[ "$(jq -r .error.code <<<"$1")" = -32602 ] && grep -q "params.tx" <<<"$1"' _ "$r"
r=$(rpc "$URL" submit_tx '{"tx":"93c40100"}')
check "bad msgpack is code 1 with a message" bash -c '[ "$(jq -r .result.code <<<"$1")" = 1 ] && [ -n "$(jq -r .result.message <<<"$1")" ]' _ "$r"

NONCE=$(jq -r .nonce <<<"$("$GZ" query account account="$ALICE" --rpc "$URL")")
signed() { "$GZ" tx transfer --to "$ALICE" --amount 1 --key alice.key --print "$@" | jq -r .tx; }
tx=$(signed --chain-id other-chain --nonce "$NONCE")
r=$(rpc "$URL" submit_tx "{\"tx\":\"$tx\"}")
check "a wrong chain id is code 3" test "$(jq -r .result.code <<<"$r")" = 3
tx=$(signed --chain-id gongzhi-devnet --nonce "$NONCE")
last=${tx: -1}; [ "$last" = 0 ] && flip=1 || flip=0
r=$(rpc "$URL" submit_tx "{\"tx\":\"${tx%?}$flip\"}")
check "a flipped signature bit is code 2" test "$(jq -r .result.code <<<"$r")" = 2
tx=$(signed --chain-id gongzhi-devnet --nonce 0)
r=$(rpc "$URL" submit_tx "{\"tx\":\"$tx\"}")
check "a used nonce is code 4 naming body.nonce" bash -c '[ "$(jq -r .result.code <<<"$1")" = 4 ] && grep -q "nonce" <<<"$1"' _ "$r"
r=$(curl -s -X POST --data '[{"jsonrpc":"2.0","id":1,"method":"status"},{"jsonrpc":"2.0","id":2,"method":"nope"}]' "$URL/rpc")
check "a batch answers each call" test "$(jq -r 'map(.id) | join(",")' <<<"$r")" = "1,2"
# More submissions in one request than one admission batch takes: every call
# gets its own verdict (code 1, bad encoding), none a "busy" error.
big=$(jq -c -n '[range(1; 1001) | {jsonrpc: "2.0", id: ., method: "submit_tx", params: {tx: "c0"}}]')
r=$(curl -s -m 20 -X POST -H 'Content-Type: application/json' --data-binary @- "$URL/rpc" <<<"$big")
check "a batch of 1000 submit_tx calls gets 1000 verdicts" \
    test "$(jq '[.[] | select(.result.code == 1)] | length' <<<"$r")" = 1000
check "the node still serves after all of that" wait_for 5 height_at_least "$URL" 1

# ---- CLI exit codes -----------------------------------------------------------
"$GZ" tx anchor --kind 1 --key alice.key --rpc "$URL" >/dev/null 2>&1; rc=$?
check "a missing required flag exits 2" test "$rc" = 2
"$GZ" tx transfer --to "$ALICE" --amount 999999999 --key alice.key --rpc "$URL" --wait >/dev/null 2>&1; rc=$?
check "a rejected tx exits 1" test "$rc" = 1

# ---- a bad genesis or config stops a node at start, naming the field -------------
BAD=$E2E_DIR/badhome
mkdir -p "$BAD"
cp "$NET/node0/node.key" "$BAD/node.key"
jq '.policy.votes.cosigners_requierd = 20' "$NET/genesis.json" > "$BAD/genesis.json"
echo '{}' > "$BAD/config.json"
err=$("$GZ" node --home "$BAD" 2>&1 >/dev/null); rc=$?
check "an unknown genesis key stops the node (exit 1) naming it" \
    bash -c '[ "$1" = 1 ] && grep -q "policy.votes.cosigners_requierd" <<<"$2"' _ "$rc" "$err"
jq '.validators[0].pub_key = "xyz"' "$NET/genesis.json" > "$BAD/genesis.json"
err=$("$GZ" node --home "$BAD" 2>&1 >/dev/null); rc=$?
check "a bad validator key stops the node naming validators[0].pub_key" \
    bash -c '[ "$1" = 1 ] && grep -q "validators\[0\].pub_key" <<<"$2"' _ "$rc" "$err"
cp "$NET/genesis.json" "$BAD/genesis.json"
echo '{"rpc_listen": "127.0.0.1:26657", "colour": "blue"}' > "$BAD/config.json"
err=$("$GZ" node --home "$BAD" 2>&1 >/dev/null); rc=$?
check "an unknown config key stops the node naming config.colour" \
    bash -c '[ "$1" = 1 ] && grep -q "config.colour" <<<"$2"' _ "$rc" "$err"

# ---- restart keeps the data -----------------------------------------------------
H=$(height_of "$URL")
kill -TERM "$DEVNET_PID"; wait "$DEVNET_PID" 2>/dev/null
start_devnet "$NET" 1 "$BASE"
check "after a restart the chain continues past height $H" wait_for 15 height_at_least "$URL" $((H + 1))
anc2=$("$GZ" query anchor artifact="$ART" --rpc "$URL")
check "the anchor survives the restart" test "$(jq -r .txid <<<"$anc2")" = "$(jq -r .txid <<<"$anc")"

# ---- a proposer waits propose_wait_ms for a full block --------------------------
# With propose_wait_ms 600, a block holding a tx sent right after the previous
# commit is proposed no sooner than 600 ms after that commit; without the wait
# it would follow the tx within milliseconds.
kill -TERM "$DEVNET_PID"; wait "$DEVNET_PID" 2>/dev/null
HOME0=$NET/node0
jq '.propose_wait_ms = 600' "$HOME0/config.json" >"$E2E_DIR/config.json" && cp "$E2E_DIR/config.json" "$HOME0/config.json"
H=$(jq -r '.propose_wait_ms' "$HOME0/config.json")
check "config.json takes propose_wait_ms" test "$H" = 600
start_node "$HOME0"
check "the node runs with propose_wait_ms 600" wait_for 15 height_at_least "$URL" 1
gaps=()
for i in 1 2 3; do
    echo "wait test $i" >"wait$i.txt"
    out=$("$GZ" tx anchor --file "wait$i.txt" --kind 1 --work "wait$i" --key alice.key --rpc "$URL" --wait)
    h=$(jq -r .height <<<"$out")
    t1=$("$GZ" query block height="$h" --rpc "$URL" | jq -r .header.time)
    t0=$("$GZ" query block height=$((h - 1)) --rpc "$URL" | jq -r .header.time)
    gaps+=($((t1 - t0)))
done
echo "     block time after the previous block, ms: ${gaps[*]}"
check "each tx's block came at least 600 ms after the one before" \
    bash -c 'for g in "$@"; do [ "$g" -ge 600 ] || exit 1; done' _ "${gaps[@]}"
check "and within the empty-block bound (1000 ms) plus slack" \
    bash -c 'for g in "$@"; do [ "$g" -lt 2500 ] || exit 1; done' _ "${gaps[@]}"
finish
