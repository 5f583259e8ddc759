#!/usr/bin/env bash
# Four validators, each in its own network namespace, joined by veth pairs to
# a bridge in a fifth namespace (10.77.0.1-4/24; nothing is routed to the
# host's network). Partitioned into {0,1} and {2,3}, neither side holds more
# than 2/3 of the power: neither commits, nobody forks, and a tx admitted
# meanwhile waits; nodes drop the peers gone silent. Healed, they reconnect,
# commit again, the tx included, and agree on every block. Needs root and
# `ip netns`; skips otherwise.
set -u
. "$(dirname "$0")/lib.sh"

# The probe needs what the test needs: a namespace, a bridge and a veth pair.
probe_netns() {
    ip netns add "gz-probe-$$" 2>/dev/null || return 1
    ip -n "gz-probe-$$" link add gzbr type bridge 2>/dev/null &&
        ip -n "gz-probe-$$" link add gzva type veth peer name gzvb 2>/dev/null
    local rc=$?
    ip netns del "gz-probe-$$"
    return $rc
}
if ! probe_netns; then
    echo "SKIP: ip netns not available"
    finish
    exit 0
fi

BR=gz-br-$$ # the namespace holding the bridges
ns() { echo "gz-n$1-$$"; }
ip_of() { echo "10.77.0.$(($1 + 1))"; }
url() { echo "http://$(ip_of "$1"):26657"; }
home() { echo "$E2E_DIR/net/node$1"; }

delete_namespaces() {
    local i
    for i in 0 1 2 3; do ip netns del "$(ns "$i")" 2>/dev/null; done
    ip netns del "$BR" 2>/dev/null
}
e2e_on_exit delete_namespaces

# Every RPC call of lib.sh runs curl; an address 10.77.0.N is only reachable
# from inside node N-1's namespace, so curl is run there.
curl() {
    local a
    for a in "$@"; do
        if [[ $a =~ ^http://10\.77\.0\.([1-4]): ]]; then
            ip netns exec "$(ns $((BASH_REMATCH[1] - 1)))" curl "$@"
            return
        fi
    done
    command curl "$@"
}

# ---- namespaces, veths, bridge ----------------------------------------------------
setup_net() {
    local i
    ip netns add "$BR" || return 1
    ip -n "$BR" link add br0 type bridge || return 1
    ip -n "$BR" link add br1 type bridge || return 1 # the far side of a partition
    ip -n "$BR" link set br0 up && ip -n "$BR" link set br1 up || return 1
    for i in 0 1 2 3; do
        ip netns add "$(ns "$i")" || return 1
        ip -n "$BR" link add "b$i" type veth peer name eth0 netns "$(ns "$i")" || return 1
        ip -n "$BR" link set "b$i" master br0 && ip -n "$BR" link set "b$i" up || return 1
        ip -n "$(ns "$i")" addr add "$(ip_of "$i")/24" dev eth0 || return 1
        ip -n "$(ns "$i")" link set eth0 up && ip -n "$(ns "$i")" link set lo up || return 1
    done
}
check "four namespaces on one bridge" setup_net

# ---- homes by hand: keys, a genesis naming them, gongzhi init ----------------------
mkdir -p "$E2E_DIR/net"
make_homes() {
    local i j pubs=() peers
    for i in 0 1 2 3; do
        mkdir -p "$(home "$i")"
        pubs+=("$("$GZ" keygen --out "$E2E_DIR/net/node$i.key")") || return 1
    done
    for r in registrar credit_officer treasurer governor; do
        "$GZ" keygen --out "$E2E_DIR/net/$r.key" >"$E2E_DIR/net/$r.pub" || return 1
    done
    jq --arg v0 "${pubs[0]}" --arg v1 "${pubs[1]}" --arg v2 "${pubs[2]}" --arg v3 "${pubs[3]}" \
       --arg reg "$(cat "$E2E_DIR/net/registrar.pub")" --arg co "$(cat "$E2E_DIR/net/credit_officer.pub")" \
       --arg tr "$(cat "$E2E_DIR/net/treasurer.pub")" --arg gov "$(cat "$E2E_DIR/net/governor.pub")" \
       --argjson now "$(date +%s%3N)" '
        .chain_id = "gongzhi-partition" | .genesis_time = $now
        | .validators = [[$v0, $v1, $v2, $v3] | to_entries[] | {name: "node\(.key)", pub_key: .value, power: 10}]
        | .authorities = {registrar: [$reg], credit_officer: [$co], treasurer: [$tr], governor: [$gov]}
        | .accounts = []' "$(dirname "$0")/../../genesis.json" >"$E2E_DIR/net/genesis.json" || return 1
    for i in 0 1 2 3; do
        peers=()
        for j in 0 1 2 3; do [ "$j" != "$i" ] && peers+=(--peer "$(ip_of "$j"):26757"); done
        "$GZ" init --home "$(home "$i")" --genesis "$E2E_DIR/net/genesis.json" --key "$E2E_DIR/net/node$i.key" \
            --rpc "$(ip_of "$i"):26657" --p2p "$(ip_of "$i"):26757" "${peers[@]}" >/dev/null || return 1
    done
}
check "four homes made with gongzhi init around one genesis" make_homes
for i in 0 1 2 3; do
    ip netns exec "$(ns "$i")" "$GZ" node --home "$(home "$i")" >>"$(home "$i")/node.log" 2>&1 &
    E2E_PIDS+=($!)
done

heights() { local i; for i in 0 1 2 3; do printf '%s ' "$(height_of "$(url "$i")")"; done; }
check "the four validators commit height 3 across the bridge" wait_for 40 all_at_least 3 0 1 2 3

reaches() { # FROM TO: node FROM's namespace gets an answer from node TO's RPC
    ip netns exec "$(ns "$1")" curl -s -m 2 -X POST --data '{"jsonrpc":"2.0","id":1,"method":"status"}' \
        "$(url "$2")/rpc" | grep -q '"result"'
}
check "across the bridge node0 reaches node3" reaches 0 3

# ---- partition {0,1} | {2,3} ----------------------------------------------------------
ip -n "$BR" link set b2 master br1 && ip -n "$BR" link set b3 master br1
split_ok() { reaches 2 3 && ! reaches 2 0; }
check "partitioned, node2 reaches node3 but not node0" split_ok

sleep 2 # a block already being decided may still land on one side
BEFORE=$(heights)
TX=$("$GZ" tx anchor --artifact "$(printf '%064x' 77)" --kind 1 --work partition \
     --key "$E2E_DIR/net/registrar.key" --print --chain-id gongzhi-partition --nonce 0 | jq -r .tx)
r=$(rpc "$(url 0)" submit_tx "{\"tx\":\"$TX\"}")
TXID=$(jq -r .result.txid <<<"$r")
check "node0 admits a tx during the partition" test "$(jq -r .result.code <<<"$r")" = 0
sleep 9 # past the node's 8 s limit for a silent peer
AFTER=$(heights)
check "no side commits while partitioned (heights $BEFORE stay $AFTER)" test "$BEFORE" = "$AFTER"
H=$(min_height 0 1 2 3)
check "nobody forks: all four agree on every block up to $H" agree "$H" 0 1 2 3
check "node0 dropped its silent peers across the partition (to redial them)" \
    grep -q "dropped: silent for" "$(home 0)/node.log"
check "the tx is not committed while partitioned" \
    test "$(rpc "$(url 0)" tx "{\"txid\":\"$TXID\"}" | jq -r '.result.height // "none"')" = none

# ---- heal -------------------------------------------------------------------------------
ip -n "$BR" link set b2 master br0 && ip -n "$BR" link set b3 master br0
H_TOP=$(max_height 0 1 2 3)
check "healed, the four commit again past height $((H_TOP + 2))" wait_for 40 all_at_least $((H_TOP + 2)) 0 1 2 3
tx_on_all() {
    local i
    for i in 0 1 2 3; do
        [ "$(rpc "$(url "$i")" tx "{\"txid\":\"$TXID\"}" | jq -r '.result.height // "none"')" != none ] || return 1
    done
}
check "the tx admitted during the partition commits on all four" wait_for 20 tx_on_all
H=$(min_height 0 1 2 3)
check "all four agree on block id and state root at every height 1..$H" agree "$H" 0 1 2 3
check "no node saw a validator equivocate" bash -c '! grep -h "evidence:" "$@"' _ "$E2E_DIR"/net/node?/node.log
e2e_stop_all
check "the node logs hold no sanitizer report or failed assertion" logs_clean "$E2E_DIR"/net/node?/node.log
finish
