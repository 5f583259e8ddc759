#!/usr/bin/env bash
# A new institution joins the consortium and an original one leaves, on a
# running 4-validator devnet under load (docs/operations.md, "A new
# institution joins" and "Leaving"): `gongzhi init` makes its home, its node
# syncs as a full node, three validators approve its key with `gongzhi
# validator approve`, `gongzhi tx validator-update` submits the approvals,
# and from the next height it signs: with one original validator stopped the
# chain needs its signature (40 of 50 power) and goes on. Then validator 3 is
# removed by approval of the new set, stopped, and the chain goes on again.
# Every node reports the same block ids and state roots, and an anchor made
# after both changes verifies offline from genesis.json alone.
set -u
. "$(dirname "$0")/lib.sh"

BASE=$(e2e_base_port)
NET=$E2E_DIR/net
NEW=$E2E_DIR/partner5
url() { if [ "$1" = 5 ]; then echo "http://127.0.0.1:$((BASE + 5))"; else echo "http://127.0.0.1:$((BASE + $1))"; fi; }
home() { echo "$NET/node$1"; }
members() { rpc "$(url "$1")" validators '{}' | jq '[.result[] | select(.power > 0)] | length'; }
index_of() { rpc "$(url "$1")" status '{}' | jq -r .result.validator_index; }
LOAD_PID=""

# load KEY TAG: anchors of one registered key, signed offline, sent to the
# nodes in turn, a few per second, until the test stops it.
load() {
    local k=0 tx
    while :; do
        tx=$(sign_anchors "$1" join "$2" "$k" "$k" | cut -d' ' -f2)
        rpc "$(url $((k % 3)))" submit_tx "{\"tx\":\"$tx\"}" >/dev/null
        k=$((k + 1))
        sleep 0.2
    done
}
# approve I PUBKEY POWER NAME OUT: validator I's approval, read against node 0's view.
approve() {
    "$GZ" validator approve --key "$(home "$1")/node.key" --pub-key "$2" --power "$3" --name "$4" \
        --rpc "$(url 0)" --out "$5"
}

start_devnet "$NET" 4 "$BASE"
check "four validators start and commit height 3" wait_for 30 all_at_least 3 0 1 2 3
load "$NET/keys/registrar.key" 9 &
LOAD_PID=$!
E2E_HOOKS+=("kill $LOAD_PID 2>/dev/null")

# The new institution: a key, a home, a node that syncs as a full node.
check "gongzhi keygen makes the new institution's key" "$GZ" keygen --out "$E2E_DIR/partner5.key"
"$GZ" init --home "$NEW" --genesis "$NET/genesis.json" --key "$E2E_DIR/partner5.key" --rpc "127.0.0.1:$((BASE + 5))" \
    --p2p "127.0.0.1:$((BASE + 105))" --peer "127.0.0.1:$((BASE + 100))" --peer "127.0.0.1:$((BASE + 101))" \
    --peer "127.0.0.1:$((BASE + 102))" --peer "127.0.0.1:$((BASE + 103))" >"$E2E_DIR/init.out" 2>&1
PK5=$(grep -o '[0-9a-f]\{64\}' "$E2E_DIR/init.out" | head -1)
check "gongzhi init made its home and printed its key" test -n "$PK5" -a -f "$NEW/config.json"
check "init refuses to make the home again" sh -c "! '$GZ' init --home '$NEW' --genesis '$NET/genesis.json' 2>/dev/null"
start_node "$NEW"
H=$(max_height 0 1 2 3)
check "the new node syncs as a full node (past height $H)" wait_for 60 all_at_least "$H" 5
check "it is not a validator yet" test "$(index_of 5)" = -1

# Approvals of validators 0, 1 and 2 (30 of 40 power), gathered into one tx.
for i in 0 1 2; do
    check "validator $i approves the new key" approve "$i" "$PK5" 10 partner-5 "$E2E_DIR/add.$i.json"
done
check "an approval names the set it was made for" \
    test "$(jq -r .validators_hash "$E2E_DIR/add.0.json")" = "$(jq -r .validators_hash "$E2E_DIR/add.2.json")"
"$GZ" validator approve --key "$(home 3)/node.key" --pub-key "$PK5" --power 11 --name partner-5 --rpc "$(url 0)" \
    --out "$E2E_DIR/other.json" >/dev/null 2>&1
check "approvals of different changes are refused together" \
    sh -c "! '$GZ' tx validator-update --approval '$E2E_DIR/add.0.json' --approval '$E2E_DIR/other.json' --key '$(home 0)/node.key' --rpc '$(url 0)' 2>/dev/null"
OUT=$("$GZ" tx validator-update --approval "$E2E_DIR/add.0.json" --approval "$E2E_DIR/add.1.json" \
    --approval "$E2E_DIR/add.2.json" --key "$(home 0)/node.key" --rpc "$(url 0)" --wait 2>&1)
check "the VALIDATOR_UPDATE is committed with code 0" test "$(jq -r .code <<<"$OUT" 2>/dev/null)" = 0
ADD_H=$(jq -r .height <<<"$OUT" 2>/dev/null)
check "the set of height $((ADD_H + 1)) has five validators" wait_for 10 test "$(members 0)" = 5
check "the set of height $ADD_H still had four" \
    test "$(rpc "$(url 1)" validators "{\"height\":$ADD_H}" | jq '[.result[] | select(.power > 0)] | length')" = 4
check "the new node signs as validator 4" wait_for 30 test "$(index_of 5)" = 4
check "approvals for the old set are refused now (code 6 or 2)" sh -c "'$GZ' tx validator-update \
    --approval '$E2E_DIR/add.0.json' --approval '$E2E_DIR/add.1.json' --approval '$E2E_DIR/add.2.json' \
    --key '$(home 1)/node.key' --rpc '$(url 1)' --wait 2>/dev/null | jq -e '.code == 6 or .code == 2' >/dev/null"

# Its signature is needed: with validator 1 stopped, 40 of 50 power remain.
stop_node "$(home 1)"
H=$(max_height 0 2 3 5)
check "with validator 1 stopped the chain goes on: the new validator signs (past $((H + 5)))" \
    wait_for 60 all_at_least $((H + 5)) 0 2 3 5

# Validator 3 leaves: approvals of 0, 2, 3 and the new one (40 of 50 power).
PK3=$(rpc "$(url 3)" status '{}' | jq -r .result.node_id)
for i in 0 2 3; do check "validator $i approves removing validator 3" approve "$i" "$PK3" 0 "" "$E2E_DIR/rm.$i.json"; done
check "the new validator approves too" "$GZ" validator approve --key "$NEW/node.key" --pub-key "$PK3" --power 0 \
    --rpc "$(url 0)" --out "$E2E_DIR/rm.5.json"
OUT=$("$GZ" tx validator-update --approval "$E2E_DIR/rm.0.json" --approval "$E2E_DIR/rm.2.json" \
    --approval "$E2E_DIR/rm.3.json" --approval "$E2E_DIR/rm.5.json" --key "$NEW/node.key" --rpc "$(url 5)" --wait 2>&1)
check "the removal is committed with code 0" test "$(jq -r .code <<<"$OUT" 2>/dev/null)" = 0
check "the set has four validators again, without validator 3" \
    wait_for 10 sh -c "curl -s -m 2 $(url 0)/rpc -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"validators\",\"params\":{}}' | jq -e '[.result[] | select(.power > 0) | .pub_key] | length == 4 and (index(\"$PK3\") | not)' >/dev/null"
check "node 3 no longer signs" wait_for 30 test "$(index_of 3)" = -1
stop_node "$(home 3)"
start_node "$(home 1)"
H=$(max_height 0 2 5)
check "validator 1 is back and the chain goes on without validator 3 (past $((H + 5)))" \
    wait_for 60 all_at_least $((H + 5)) 0 1 2 5
kill "$LOAD_PID" 2>/dev/null

# An anchor after both changes verifies from genesis alone, across both links.
ART=$(printf '%064x' 7777)
OUT=$("$GZ" tx anchor --artifact "$ART" --kind 1 --work join-final --key "$NET/keys/registrar.key" --rpc "$(url 2)" --wait 2>&1)
check "an anchor after the changes is committed" test "$(jq -r .code <<<"$OUT" 2>/dev/null)" = 0
"$GZ" anchor-proof "$ART" --rpc "$(url 5)" --out "$E2E_DIR/bundle.json" >/dev/null 2>&1
check "its bundle carries a valset_chain of two links" test "$(jq '.valset_chain | length' "$E2E_DIR/bundle.json")" = 2
"$GZ" verify --genesis "$NET/genesis.json" --bundle "$E2E_DIR/bundle.json" --artifact "$ART" >"$E2E_DIR/verify.out" 2>&1
check "gongzhi verify accepts it from genesis.json alone" test $? = 0
check "verify names both links it checked" test "$(grep -c '^ok   link [01] at height' "$E2E_DIR/verify.out")" = 2
jq '.valset_chain[1].validators[0].power += 1' "$E2E_DIR/bundle.json" >"$E2E_DIR/bad.json"
"$GZ" verify --genesis "$NET/genesis.json" --bundle "$E2E_DIR/bad.json" --artifact "$ART" >"$E2E_DIR/bad.out" 2>&1
check "a tampered link fails verify (exit 1)" test $? = 1
check "and the failure names the link check" grep -q '^FAIL valset link' "$E2E_DIR/bad.out"

H=$(min_height 0 1 2 5)
check "nodes 0, 1, 2 and the new one agree on every block 1..$H" wait_for 30 agree "$H" 0 1 2 5
e2e_stop_all
check "the node logs hold no sanitizer report or failed assertion" logs_clean "$NET"/node*/node.log "$NEW"/node.log
finish
