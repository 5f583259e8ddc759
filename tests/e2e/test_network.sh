#!/usr/bin/env bash
# Four validators as separate processes on loopback (SPEC §9 devnet):
# - a tx submitted to any node commits and reads back on all four;
# - a validator killed with SIGKILL under load loses no admitted tx and,
#   restarted, catches up and signs again (it is needed for the quorum);
# - with two of four down the chain halts without forking, and resumes when a
#   validator comes back several blocks behind, or exactly one block behind
#   (no consensus message for that block will come again: it must fetch it);
# - a validator stopped with SIGSTOP and continued catches up;
# - a validator whose data/ was wiped in the middle of a height re-syncs to the
#   same blocks and never signs a second, different vote;
# - peers that send garbage, oversized frames, undecodable messages or votes
#   signed outside the validator set are dropped and logged, and the node goes on;
# - at the end every node holds the same block id and state root at every
#   height, no node saw an equivocation, and no log holds a sanitizer report.
set -u
. "$(dirname "$0")/lib.sh"

BASE=$(e2e_base_port)
NET=$E2E_DIR/net
SIGNERS=(registrar credit_officer treasurer governor)
LOAD_ROUNDS=150 # txs per signer for the load phase (nonces 1..LOAD_ROUNDS)
url() { echo "http://127.0.0.1:$((BASE + $1))"; }
home() { echo "$NET/node$1"; }
p2p_port() { echo $((BASE + 100 + $1)); }

start_devnet "$NET" 4 "$BASE"
check "four validators start and commit height 2" wait_for 30 all_at_least 2 0 1 2 3

# ---- pre-signed txs: four signers, one anchor per nonce ------------------------
# Signed offline while the network runs; every line is "txid tx".
signers=()
for s in 0 1 2 3; do
    sign_anchors "$NET/keys/${SIGNERS[$s]}.key" "load-$s" "$s" 0 "$LOAD_ROUNDS" >"$E2E_DIR/signed.$s" &
    signers+=($!)
done
wait "${signers[@]}"
check "pre-signed $((4 * (LOAD_ROUNDS + 1))) txs" test "$(cat "$E2E_DIR"/signed.? | wc -l)" -eq $((4 * (LOAD_ROUNDS + 1)))

# ---- a tx submitted to any node commits on all ---------------------------------
: >"$E2E_DIR/first.txids"
codes=""
for i in 0 1 2 3; do
    read -r txid tx < <(head -1 "$E2E_DIR/signed.$i")
    r=$(rpc "$(url "$i")" submit_tx "{\"tx\":\"$tx\"}")
    codes+="$(jq -r .result.code <<<"$r")"
    echo "$txid" >>"$E2E_DIR/first.txids"
done
check "each node admits the tx submitted to it (codes $codes)" test "$codes" = 0000
all_read() { # every node answers every txid of FILE as committed
    local i n; n=$(wc -l <"$1")
    for i in "${@:2}"; do [ "$(txids_committed "$(url "$i")" "$1")" -eq "$n" ] || return 1; done
}
check "the four txs are committed and readable from all four nodes" wait_for 20 all_read "$E2E_DIR/first.txids" 0 1 2 3

# ---- kill -9 of a validator under load --------------------------------------------
# A background loop submits the rest of the pre-signed txs, one of each signer
# per JSON-RPC batch, to the nodes that stay up, and records each admission.
VICTIM=3
LIVE=(0 1 2)
: >"$E2E_DIR/admitted"
load_loop() {
    local k fd x0 x1 x2 x3 req target
    exec 3<"$E2E_DIR/signed.0" 4<"$E2E_DIR/signed.1" 5<"$E2E_DIR/signed.2" 6<"$E2E_DIR/signed.3"
    for fd in 3 4 5 6; do read -r _ _ <&"$fd"; done # nonce 0 went in above
    for ((k = 1; k <= LOAD_ROUNDS; k++)); do
        [ -e "$E2E_DIR/stop-load" ] && break
        read -r _ x0 <&3; read -r _ x1 <&4; read -r _ x2 <&5; read -r _ x3 <&6
        req=$(for x in "$x0" "$x1" "$x2" "$x3"; do
            printf '{"jsonrpc":"2.0","id":1,"method":"submit_tx","params":{"tx":"%s"}}\n' "$x"; done | jq -s -c .)
        target=$(url "${LIVE[$((k % ${#LIVE[@]}))]}")
        rpc_batch "$target" "$req" | jq -r '.[] | "\(.result.txid // "none") \(.result.code // "err")"' >>"$E2E_DIR/admitted"
        sleep 0.05
    done
}
load_loop &
LOAD_PID=$!
E2E_PIDS+=("$LOAD_PID")
sleep 2
H_KILL=$(height_of "$(url $VICTIM)")
stop_node "$(home $VICTIM)" KILL
check "node$VICTIM is gone after kill -9" test -z "$(node_pid "$(home $VICTIM)")"
check "the three others keep committing past height $((H_KILL + 4))" wait_for 20 all_at_least $((H_KILL + 4)) "${LIVE[@]}"
sleep 2
touch "$E2E_DIR/stop-load"
wait "$LOAD_PID"
grep ' 0$' "$E2E_DIR/admitted" | cut -d' ' -f1 >"$E2E_DIR/admitted.ok"
N_OK=$(wc -l <"$E2E_DIR/admitted.ok")
check "the load was admitted (code 0: $N_OK of $(wc -l <"$E2E_DIR/admitted"))" \
    test "$N_OK" -ge 100 -a "$N_OK" -eq "$(wc -l <"$E2E_DIR/admitted")"
check "every admitted tx is committed on every live node" wait_for 30 all_read "$E2E_DIR/admitted.ok" "${LIVE[@]}"

# ---- restart: catch up and rejoin ----------------------------------------------------
start_node "$(home $VICTIM)"
H_TARGET=$(max_height "${LIVE[@]}")
check "restarted node$VICTIM catches up to height $H_TARGET" wait_for 30 height_at_least "$(url $VICTIM)" "$H_TARGET"
check "restarted node$VICTIM serves every admitted tx" wait_for 20 all_read "$E2E_DIR/admitted.ok" $VICTIM
# With node1 stopped, three validators of four are exactly the quorum: blocks
# commit only if the restarted one signs.
H1_STOP=$(height_of "$(url 1)")
stop_node "$(home 1)"
H=$(max_height 0 2 $VICTIM)
check "with node1 stopped, node0, node2 and node$VICTIM commit (the restarted one signs)" \
    wait_for 30 all_at_least $((H + 3)) 0 2 $VICTIM

# ---- two of four down: halt without a fork, resume -------------------------------
# node1 has been down for several blocks; killing node2 too leaves two of four.
stop_node "$(home 2)" KILL
sleep 2
H_HALT=$(max_height 0 $VICTIM)
sleep 5
check "with two of four down the chain halts at height $H_HALT" test "$(max_height 0 $VICTIM)" -eq "$H_HALT"
check "the halted nodes agree on every block" agree "$(min_height 0 $VICTIM)" 0 $VICTIM
# node1 comes back behind the halted chain: it must fetch the missing blocks,
# the last one included, before its vote can make the quorum again.
check "node1 stopped at $H1_STOP, more than one block behind the halt" test "$H1_STOP" -lt $((H_HALT - 1))
start_node "$(home 1)"
check "node1 returns behind the halt and catches up to $H_HALT" wait_for 20 height_at_least "$(url 1)" "$H_HALT"
check "with node1 back the chain resumes past $H_HALT" wait_for 30 all_at_least $((H_HALT + 2)) 0 1 $VICTIM
start_node "$(home 2)"
check "node2 returns and catches up" wait_for 30 all_at_least "$(max_height 0 1 $VICTIM)" 2

# ---- one block behind a halted chain ------------------------------------------------------
# node1 stops at H1; the others commit H1+1 and are frozen there by stopping
# node2 (SIGSTOP: at once, before another block). node1 restarts exactly one
# block behind, with no consensus messages for that block coming any more: it
# must fetch the block itself, and only then can the chain go on.
H1=$(height_of "$(url 1)")
stop_node "$(home 1)"
wait_for 20 bash -c 'h=$(curl -s -m 2 -X POST --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}" "$1/rpc" | jq -r .result.height); [ "${h:-0}" -gt "$2" ]' _ "$(url 0)" "$H1"
PID2=$(node_pid "$(home 2)")
kill -STOP "$PID2"
sleep 1
H_ONE=$(max_height 0 $VICTIM)
check "the chain is frozen at $H_ONE, node1 stopped at $H1" test "$H_ONE" -gt "$H1"
start_node "$(home 1)"
check "node1 fetches the missing block(s) up to $H_ONE" wait_for 20 height_at_least "$(url 1)" "$H_ONE"
check "and with node1 the chain goes past $H_ONE" wait_for 20 all_at_least $((H_ONE + 2)) 0 1 $VICTIM
kill -CONT "$PID2"
check "node2, continued, catches up" wait_for 30 all_at_least "$(max_height 0 1 $VICTIM)" 2

# ---- wiped data directory, in the middle of a height -------------------------------
# With node1 and node3 stopped, node0 and node2 are stuck in the next height,
# where node2 has signed its prevote. Wiping node2's data/ (store and WAL)
# must not make it forget that: the signing state lives in its home, so after
# re-syncing it refuses to sign a second, different vote there (or it learns
# its own vote back from node0 first). When node1 and node3 return, the four
# go on without any equivocation.
stop_node "$(home 1)"
stop_node "$(home 3)"
sleep 3
WIPED=2
stop_node "$(home $WIPED)"
rm -rf "$(home $WIPED)/data"
H_WIPE=$(height_of "$(url 0)")
: >"$E2E_DIR/catching_up"
start_node "$(home $WIPED)"
for _ in $(seq 300); do
    rpc "$(url $WIPED)" status '{}' | jq -r '.result.catching_up // empty' >>"$E2E_DIR/catching_up"
    height_at_least "$(url $WIPED)" "$H_WIPE" && break
    sleep 0.05
done
check "wiped node$WIPED re-syncs from node0 to height $H_WIPE" wait_for 30 height_at_least "$(url $WIPED)" "$H_WIPE"
check "wiped node$WIPED has the same blocks as node0" agree "$H_WIPE" 0 $WIPED
if grep -q true "$E2E_DIR/catching_up"; then
    ok "status.catching_up was true while node$WIPED synced"
else
    check "node$WIPED logged that it caught up" grep -q "sync: caught up" "$(home $WIPED)/node.log"
fi
check "node$WIPED logged its sync progress" grep -q "sync: fetching blocks" "$(home $WIPED)/node.log"
check "node$WIPED kept its signing state outside data/" test -s "$(home $WIPED)/signstate"
start_node "$(home 1)"
start_node "$(home 3)"
check "with all four back the chain goes past $H_WIPE" wait_for 40 all_at_least $((H_WIPE + 3)) 0 1 2 3
check "wiped node$WIPED serves every admitted tx again" wait_for 20 all_read "$E2E_DIR/admitted.ok" $WIPED
check "no node saw a validator equivocate" bash -c '! grep -h "evidence:" "$@"' _ "$NET"/node?/node.log
check "no node refused a decided block" bash -c '! grep -h "FATAL" "$@"' _ "$NET"/node?/node.log

# ---- bad peers -----------------------------------------------------------------------------
# Each bad peer must be dropped with a log line saying why, and node0 must go on.
LOG0=$(home 0)/node.log
P0=$(p2p_port 0)
timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1; printf "\x00\x00\x00\x05hello" >&3; sleep 1' _ "$P0"
check "a garbage frame before the handshake is dropped and logged" \
    wait_for 5 grep -q "dropped: undecodable frame" "$LOG0"
timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1; printf "\x7f\xff\xff\xff" >&3; sleep 1' _ "$P0"
check "an oversized frame header before the handshake is dropped and logged" \
    wait_for 5 grep -q "dropped: frame of 2147483647 bytes exceeds limit" "$LOG0"
# Each bad peer comes with a fresh key: a key dropped for a message that cannot
# be valid is refused at the handshake for 60 s (docs/p2p.md §6).
bad_peer() { # NAME ACTION [flags]: runs debug-peer against node0 with a fresh key NAME, prints its output
    local key=$E2E_DIR/outsider-$1.key; shift
    [ -f "$key" ] || "$GZ" keygen --out "$key" >/dev/null
    "$GZ" debug-peer --connect "127.0.0.1:$P0" --chain-id gongzhi-devnet --key "$key" "$@" 2>&1 | tail -1
}
out=$(bad_peer vote --send-bad-vote --validator 1)
check "a vote signed outside the validator set gets a disconnect ($out)" grep -q "^disconnected" <<<"$out"
check "node0 logs the dropped peer: the vote is not validator 1's" \
    wait_for 5 grep -q "dropped: bad signature: vote_msg.sig: not signed by validator 1" "$LOG0"
out=$(bad_peer vote --send-bad-vote --validator 1)
check "the same key is refused at the handshake for a while ($out)" grep -q "handshake .* failed" <<<"$out"
out=$(bad_peer garbage --send-garbage-after-handshake)
check "a garbage frame after the handshake gets a disconnect ($out)" grep -q "^disconnected" <<<"$out"
check "node0 logs it" wait_for 5 bash -c '[ "$(grep -c "dropped: undecodable frame" "$1")" -ge 2 ]' _ "$LOG0"
out=$(bad_peer oversized --send-oversized-after-handshake)
check "an oversized frame header after the handshake gets a disconnect ($out)" grep -q "^disconnected" <<<"$out"
check "node0 logs it" wait_for 5 grep -qE "dropped: frame of [0-9]+ bytes exceeds limit of [0-9]+$" "$LOG0"
out=$(bad_peer malformed --send-malformed-message)
check "a vote message that does not decode gets a disconnect ($out)" grep -q "^disconnected" <<<"$out"
check "node0 logs it" wait_for 5 grep -q "dropped: bad encoding" "$LOG0"
check "node0 is still connected to its three validator peers" \
    test "$(rpc "$(url 0)" status '{}' | jq .result.peers)" -ge 3
H=$(height_of "$(url 0)")
check "node0 still commits after the bad peers" wait_for 15 height_at_least "$(url 0)" $((H + 2))

# ---- every node, every height ----------------------------------------------------------------
H=$(min_height 0 1 2 3)
check "all four nodes agree on block id and state root at every height 1..$H" agree "$H" 0 1 2 3
e2e_stop_all
check "the node logs hold no sanitizer report or failed assertion" logs_clean "$NET"/node?/node.log
finish
