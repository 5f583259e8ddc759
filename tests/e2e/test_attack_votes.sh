#!/usr/bin/env bash
# A Byzantine validator flooding distinct signed votes (docs/storage.md, the
# WAL's duplicate index): with two validators of four stopped the chain waits
# at one height, and validator 3's key, in the attack tool, sends 1,200
# distinct signed votes for the next height to node 0, then the same votes
# again, twice over. Node 0 keeps the connection (the votes are valid), logs
# what consensus can count once (its WAL grows by a bounded amount), and logs
# nothing again for the repeats. Then the stopped validators come back and the
# chain goes on, every node agreeing. Loopback only; bounded.
set -u
. "$(dirname "$0")/lib.sh"

BASE=$(e2e_base_port)
NET=$E2E_DIR/net
VOTES=1200
url() { echo "http://127.0.0.1:$((BASE + $1))"; }
home() { echo "$NET/node$1"; }
p2p_port() { echo $((BASE + 100 + $1)); }
wal_bytes() { stat -c %s "$(home 0)/data/consensus.wal"; }
# flood: one run of the tool (N distinct votes, then the same N again).
flood() {
    "$GZ" debug-peer --connect "127.0.0.1:$(p2p_port 0)" --chain-id gongzhi-devnet --key "$(home 3)/node.key" \
        --validator 3 --equivocate-votes "$VOTES" --timeout-ms 3000 >>"$E2E_DIR/flood.out" 2>&1
}

start_devnet "$NET" 4 "$BASE"
check "four validators start and commit height 3" wait_for 30 all_at_least 3 0 1 2 3
check "node 3 is validator 3" test "$(rpc "$(url 3)" status '{}' | jq -r .result.validator_index)" = 3

stop_node "$(home 2)"
stop_node "$(home 3)"
sleep 2
H=$(height_of "$(url 0)")
sleep 1
check "with two of four validators stopped the chain waits at height $H" test "$(height_of "$(url 0)")" = "$H"

S0=$(wal_bytes)
check "the flood of $VOTES distinct signed votes (sent twice) keeps its connection" flood
S1=$(wal_bytes)
check "a second flood of the same votes keeps its connection" flood
S2=$(wal_bytes)
check "the chain still waits at height $H" test "$(height_of "$(url 0)")" = "$H"
# What consensus counts of one validator (two values per round and type, over
# the rounds the WAL index remembers) at about 160 bytes a record: well under
# what 1,200 votes would take.
check "the WAL grew by a bounded amount for the first flood ($((S1 - S0)) bytes)" test $((S1 - S0)) -lt $((VOTES * 160 / 2))
check "and by next to nothing for the repeats ($((S2 - S1)) bytes)" test $((S2 - S1)) -lt 8192
check "node 0 answers status within 1 s" curl -s -m 1 -X POST -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"status","params":{}}' "$(url 0)/rpc" -o /dev/null

start_node "$(home 2)"
start_node "$(home 3)"
check "the stopped validators come back and the chain goes on" wait_for 60 all_at_least $((H + 3)) 0 1 2 3
check "all four nodes agree on every block" agree "$((H + 3))" 0 1 2 3
e2e_stop_all
check "the node logs hold no sanitizer report or failed assertion" logs_clean "$NET"/node*/node.log
finish
