#!/usr/bin/env bash
# Four validators on loopback under load; node3's data/ is a 64 MiB tmpfs.
# Filled until its writes fail with ENOSPC, node3 logs "disk full" with the
# path, stays up, answers `status` within a second, and the other three keep
# committing. Once the filler is deleted it resumes by itself and catches up
# to the same blocks; killed with -9 and restarted, it starts cleanly (no
# storage engine assertion). Needs root (mount); skips otherwise.
set -u
. "$(dirname "$0")/lib.sh"

BASE=$(e2e_base_port)
NET=$E2E_DIR/net
VICTIM=3
url() { echo "http://127.0.0.1:$((BASE + $1))"; }
home() { echo "$NET/node$1"; }
DATA=$(home $VICTIM)/data

probe_tmpfs() {
    [ "$(id -u)" -eq 0 ] || return 1
    local d; d=$(mktemp -d "/tmp/gz-probe-tmpfs.XXXXXX")
    mount -t tmpfs -o size=1m tmpfs "$d" 2>/dev/null || { rmdir "$d"; return 1; }
    umount "$d"
    rmdir "$d"
}
if ! probe_tmpfs; then
    echo "SKIP: needs root and mount -t tmpfs"
    finish
    exit 0
fi
unmount_data() { mountpoint -q "$DATA" && umount -l "$DATA"; }
e2e_on_exit unmount_data

start_devnet "$NET" 4 "$BASE"
check "four validators start and commit height 2" wait_for 30 all_at_least 2 0 1 2 3

# ---- node3's data/ onto a small tmpfs -------------------------------------------------
move_to_tmpfs() {
    stop_node "$(home $VICTIM)" || return 1
    mv "$DATA" "$DATA.disk" && mkdir "$DATA" || return 1
    mount -t tmpfs -o size=64m tmpfs "$DATA" || return 1
    cp -a "$DATA.disk/." "$DATA/" && rm -rf "$DATA.disk"
}
check "node3's data/ is moved onto a 64 MiB tmpfs" move_to_tmpfs
start_node "$(home $VICTIM)"
check "node3 runs from the tmpfs and catches up" \
    wait_for 30 height_at_least "$(url $VICTIM)" "$(max_height 0 1 2)"

# ---- load: anchors from the four signers, to the three other nodes ---------------------
SIGNERS=(registrar credit_officer treasurer governor)
signers=()
for s in 0 1 2 3; do
    for ((k = 0; k < 150; k++)); do
        "$GZ" tx anchor --artifact "$(printf '%02x%062x' "$s" "$k")" --kind 1 --work "disk-$s" \
            --key "$NET/keys/${SIGNERS[$s]}.key" --print --chain-id gongzhi-devnet --nonce "$k"
    done | jq -r -s '.[] | .tx' >"$E2E_DIR/signed.$s" &
    signers+=($!)
done
wait "${signers[@]}"
load_loop() {
    local k req
    exec 3<"$E2E_DIR/signed.0" 4<"$E2E_DIR/signed.1" 5<"$E2E_DIR/signed.2" 6<"$E2E_DIR/signed.3"
    for ((k = 0; k < 150; k++)); do
        [ -e "$E2E_DIR/stop-load" ] && break
        local x0 x1 x2 x3
        read -r x0 <&3; read -r x1 <&4; read -r x2 <&5; read -r x3 <&6
        req=$(for x in "$x0" "$x1" "$x2" "$x3"; do
            printf '{"jsonrpc":"2.0","id":1,"method":"submit_tx","params":{"tx":"%s"}}\n' "$x"; done | jq -s -c .)
        rpc_batch "$(url $((k % 3)))" "$req" >/dev/null
        sleep 0.05
    done
}
load_loop &
E2E_PIDS+=($!)
sleep 2

# ---- fill the disk ------------------------------------------------------------------
fill_disk() {
    local avail; avail=$(df --output=avail -B1 "$DATA" | tail -1)
    fallocate -l $((avail - 65536)) "$DATA/filler" || return 1
    dd if=/dev/zero of="$DATA/filler2" bs=4k 2>/dev/null
    [ "$(df --output=avail -B1 "$DATA" | tail -1)" -lt 65536 ]
}
check "node3's disk is filled" fill_disk
# Like another writer on the same disk, a loop takes every page node3 frees
# (its WAL is emptied at each height), so that node3's next writes find none.
hog_loop() {
    local k=0
    while [ ! -e "$E2E_DIR/stop-hog" ]; do
        dd if=/dev/zero of="$DATA/hog.$((k % 64))" bs=4k count=64 oflag=append conv=notrunc 2>/dev/null
        k=$((k + 1))
        sleep 0.01
    done
}
hog_loop &
HOG_PID=$!
E2E_PIDS+=("$HOG_PID")
H_FULL=$(height_of "$(url $VICTIM)")
check "node3 logs 'disk full' with its data path" \
    wait_for 30 grep -q "disk full: .*$DATA" "$(home $VICTIM)/node.log"
grep -m1 "disk full" "$(home $VICTIM)/node.log"
sleep 3
check "node3 has not exited" test -n "$(node_pid "$(home $VICTIM)")"
status_fast() { curl -s -m 1 -X POST -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"status","params":{}}' "$(url $VICTIM)/rpc" | jq -e .result.height; }
check "node3 answers status within 1 s while its disk is full" status_fast
H3=$(height_of "$(url $VICTIM)")
check "node3 commits nothing while full (height $H3, $H_FULL when filled)" test "$H3" -le $((H_FULL + 1))
H=$(max_height 0 1 2)
check "the other three keep committing past $((H + 5))" wait_for 30 all_at_least $((H + 5)) 0 1 2
check "node3 still answers status within 1 s" status_fast
check "node3's height has not moved" test "$(height_of "$(url $VICTIM)")" -eq "$H3"

# ---- space returns -------------------------------------------------------------------
touch "$E2E_DIR/stop-hog"
wait "$HOG_PID"
rm -f "$DATA/filler" "$DATA/filler2" "$DATA"/hog.*
touch "$E2E_DIR/stop-load"
H=$(max_height 0 1 2)
check "node3 resumes by itself and catches up to $H" wait_for 60 height_at_least "$(url $VICTIM)" "$H"
check "node3 logs that writes work again" grep -q "writes work again" "$(home $VICTIM)/node.log"
check "node3 holds the same blocks as node0 up to $H" agree "$H" 0 $VICTIM
H=$(max_height 0 1 2)
check "and node3 keeps up afterwards" wait_for 30 height_at_least "$(url $VICTIM)" $((H + 3))

# ---- kill -9 and restart --------------------------------------------------------------
stop_node "$(home $VICTIM)" KILL
start_node "$(home $VICTIM)"
check "node3 restarts after kill -9 and answers status" wait_for 30 status_fast
H=$(max_height 0 1 2)
check "restarted node3 catches up to $H" wait_for 60 height_at_least "$(url $VICTIM)" "$H"
check "restarted node3 agrees with node0" agree "$H" 0 $VICTIM
e2e_stop_all
check "no assertion or sanitizer report in any log" logs_clean "$NET"/node*/node.log
finish
