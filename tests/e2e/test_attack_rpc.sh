#!/usr/bin/env bash
# Hostile JSON-RPC clients against one validator (issue "RPC can be locked out
# or blown up"): 500 idle connections, 300 slowloris connections (a header
# byte every 2 s), batches of 1000 `tx` lookups (~124 KiB) and of 950
# `block` reads (~65 KiB) of a block of 1000 txs, four connections at once.
# During and after each attack a `status` call from a fresh connection must
# answer within 1 s every time, heights keep advancing, the node's RSS stays
# under 256 MB, and the attack's connections are closed by the deadlines.
# Everything runs on loopback; the attackers are bounded in time.
set -u
. "$(dirname "$0")/lib.sh"

BASE=$(e2e_base_port)
URL=http://127.0.0.1:$BASE
NET=$E2E_DIR/net
mkdir -p "$NET"
start_devnet "$NET" 1 "$BASE"
check "devnet with one validator answers status" wait_for 15 height_at_least "$URL" 1
PID=$(node_pid "$NET/node0")
check "the node's pid is known" test -n "$PID"
RSS_MAX_KB=$((256 * 1024))

# ---- the attack and watch tools (python3, standard library only) --------------
cat >"$E2E_DIR/attack.py" <<'EOF'
import http.client, json, os, selectors, socket, sys, threading, time

def now():
    return time.monotonic()

def hold(port, n, seconds, drip):
    """Opens n connections; with drip, sends a request line and then one header
    byte every drip seconds on each. Reports how many the server closed and
    how long the longest-lived of those stayed open."""
    sel = selectors.DefaultSelector()
    opened = refused = 0
    born, lived = {}, []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            refused += 1
            s.close()
            continue
        s.setblocking(False)
        if drip:
            try:
                s.send(b"POST /rpc HTTP/1.1\r\nX-Slow: ")
            except OSError:
                pass
        sel.register(s, selectors.EVENT_READ)
        born[s] = now()
        opened += 1
    end, next_drip = now() + seconds, now() + (drip or seconds)
    while born and now() < end:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                lived.append(now() - born.pop(s))
                sel.unregister(s)
                s.close()
        if drip and now() >= next_drip:
            next_drip += drip
            for s in list(born):
                try:
                    s.send(b"a")
                except OSError:
                    pass
    still = len(born)
    for s in born:
        s.close()
    print(json.dumps({"opened": opened, "refused": refused, "closed": len(lived),
                      "still_open": still, "max_lived_s": round(max(lived, default=0), 1)}))

def post(port, path, conc, rounds):
    """Posts the body in path from conc connections at once, rounds times each.
    Reports the answers' error codes and messages, results and sizes."""
    body = open(path, "rb").read()
    out, lock = {"posts": 0, "failed": 0, "results": 0, "codes": {}, "messages": [],
                 "max_bytes": 0, "max_s": 0.0, "body_bytes": len(body)}, threading.Lock()
    def one():
        for _ in range(rounds):
            t0 = now()
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                c.request("POST", "/rpc", body, {"Content-Type": "application/json"})
                data = c.getresponse().read()
                c.close()
                ans = json.loads(data)
            except Exception:
                with lock:
                    out["failed"] += 1
                continue
            ans = ans if isinstance(ans, list) else [ans]
            with lock:
                out["posts"] += 1
                out["max_bytes"] = max(out["max_bytes"], len(data))
                out["max_s"] = max(out["max_s"], round(now() - t0, 2))
                for a in ans:
                    if "result" in a:
                        out["results"] += 1
                    else:
                        code = str(a["error"]["code"])
                        out["codes"][code] = out["codes"].get(code, 0) + 1
                        if len(out["messages"]) < 3 and a["error"]["message"] not in out["messages"]:
                            out["messages"].append(a["error"]["message"])
    ts = [threading.Thread(target=one) for _ in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps(out))

def rss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0

def watch(port, pid, seconds):
    """For the given seconds: a status call on a fresh connection every 0.25 s
    (failed: no answer with a height within 1 s) and the node's RSS every
    0.1 s. Reports probes, failures, the slowest probe, first and last height
    and the largest RSS."""
    out = {"probes": 0, "failed": 0, "max_ms": 0, "h0": None, "h1": None, "rss_max_kb": 0}
    stop = now() + seconds
    def sample():
        while now() < stop:
            out["rss_max_kb"] = max(out["rss_max_kb"], rss_kb(pid))
            time.sleep(0.1)
    t = threading.Thread(target=sample)
    t.start()
    req = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "status"})
    while now() < stop:
        t0 = now()
        ok = False
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("POST", "/rpc", req, {"Content-Type": "application/json"})
            h = json.loads(c.getresponse().read())["result"]["height"]
            c.close()
            ok = now() - t0 < 1.0
            out["h0"] = h if out["h0"] is None else out["h0"]
            out["h1"] = h
        except Exception:
            pass
        ms = int((now() - t0) * 1000)
        out["probes"] += 1
        out["max_ms"] = max(out["max_ms"], ms)
        out["failed"] += 0 if ok else 1
        time.sleep(0.25)
    t.join()
    print(json.dumps(out))

mode, args = sys.argv[1], sys.argv[2:]
if mode == "idle":
    hold(int(args[0]), int(args[1]), float(args[2]), 0)
elif mode == "slowloris":
    hold(int(args[0]), int(args[1]), float(args[2]), float(args[3]))
elif mode == "post":
    post(int(args[0]), args[1], int(args[2]), int(args[3]))
elif mode == "watch":
    watch(int(args[0]), int(args[1]), float(args[2]))
EOF
A="python3 $E2E_DIR/attack.py"

# jqc FILE FILTER: the filter over a tool's JSON report is true.
jqc() { jq -e "$2" "$1" >/dev/null; }

# watched NAME SECONDS ATTACK...: runs the attack while the watcher probes for
# SECONDS; reports land in $E2E_DIR/NAME.attack and NAME.watch.
watched() {
    local name=$1 secs=$2; shift 2
    $A watch "$BASE" "$PID" "$secs" >"$E2E_DIR/$name.watch" &
    local w=$!
    sleep 0.5
    "$@" >"$E2E_DIR/$name.attack"
    wait "$w"
    echo "    $name: attack $(cat "$E2E_DIR/$name.attack")"
    echo "    $name: watch  $(cat "$E2E_DIR/$name.watch")"
}

# healthy NAME: every probe answered within 1 s, heights advanced, RSS bounded.
healthy() {
    local w=$E2E_DIR/$1.watch
    check "$1: every status from a fresh connection answered within 1 s" jqc "$w" '.probes >= 8 and .failed == 0'
    check "$1: heights kept advancing" jqc "$w" '.h1 != null and .h0 != null and .h1 > .h0'
    check "$1: the node's RSS stayed under 256 MB" jqc "$w" ".rss_max_kb > 0 and .rss_max_kb < $RSS_MAX_KB"
}

# ---- 500 idle connections ------------------------------------------------------
# Each newcomer past the per-address cap takes the slot of the oldest idle
# one; the last ones go at the head deadline (10 s).
watched idle 16 $A idle "$BASE" 500 16
healthy idle
check "idle: all 500 connections were accepted" jqc "$E2E_DIR/idle.attack" '.opened == 500'
check "idle: the server closed every one of them, none lived past the 10 s head deadline by more than 3 s" \
    jqc "$E2E_DIR/idle.attack" '.still_open == 0 and .closed == 500 and .max_lived_s <= 13'

# ---- 300 slowloris connections ---------------------------------------------------
watched slowloris 18 $A slowloris "$BASE" 300 18 2
healthy slowloris
check "slowloris: the server closed all 300 at the head deadline, whatever they sent" \
    jqc "$E2E_DIR/slowloris.attack" '.opened == 300 and .still_open == 0 and .max_lived_s <= 13'

# ---- a block of 1000 txs -----------------------------------------------------------
# 63 anchors from each of 16 registered holders (the mempool takes 64 pending
# txs per signer, docs/rpc.md "submit_tx admission"), signed offline, and the
# first 1000 submitted in one batch of 1000 submit_tx calls (one admission batch).
HOLDERS=16
for ((s = 0; s < HOLDERS; s++)); do
    pub=$("$GZ" keygen --out "$E2E_DIR/holder$s.key")
    "$GZ" tx account-set --account "$pub" --level 1 --label "holder$s" --key "$NET/keys/registrar.key" \
        --nonce "$s" --rpc "$URL" >/dev/null &
done
wait_jobs_done() { local p; for p in $(jobs -p); do [ "$p" = "$DEVNET_PID" ] || wait "$p"; done; }
wait_jobs_done
check "$HOLDERS holders registered" wait_for 20 "$GZ" query account "account=$pub" --rpc "$URL"
sign_range() { # holder_index count
    local s=$1 k
    for ((k = 0; k < $2; k++)); do
        "$GZ" tx anchor --artifact "$(printf 'a%02x%061x' "$s" "$k")" --kind 1 --work "attack-$s" \
            --key "$E2E_DIR/holder$s.key" --print --chain-id gongzhi-devnet --nonce "$k"
    done | jq -r -s '.[] | "\(.txid) \(.tx)"'
}
pids=()
for ((s = 0; s < HOLDERS; s++)); do sign_range "$s" 63 >"$E2E_DIR/signed.$s" & pids+=($!); done
wait "${pids[@]}"
cat "$E2E_DIR"/signed.* | head -1000 >"$E2E_DIR/signed"
check "1000 txs signed" test "$(wc -l <"$E2E_DIR/signed")" -eq 1000
jq -R -c 'split(" ") | {jsonrpc: "2.0", id: 1, method: "submit_tx", params: {tx: .[1]}}' "$E2E_DIR/signed" |
    jq -s -c . >"$E2E_DIR/submit.json"
r=$(curl -s -m 30 -X POST -H 'Content-Type: application/json' --data-binary @"$E2E_DIR/submit.json" "$URL/rpc")
check "a batch of 1000 submit_tx is within the budget: 1000 admitted" \
    test "$(jq '[.[] | select(.result.code == 0)] | length' <<<"$r")" = 1000
cut -d' ' -f1 "$E2E_DIR/signed" >"$E2E_DIR/txids"
last=$(tail -1 "$E2E_DIR/txids")
check "the txs commit" wait_for 30 bash -c "[ \"\$(curl -s -X POST --data '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tx\",\"params\":{\"txid\":\"$last\"}}' $URL/rpc | jq -r '.result.height // empty')\" != '' ]"
BIG=$(rpc "$URL" tx "{\"txid\":\"$last\"}" | jq -r .result.height)
ntx=$(rpc "$URL" block "{\"height\":$BIG}" | jq '.result.txids | length')
echo "    the txs are at height $BIG; its block holds $ntx txs"
check "most of them share one block" test "${ntx:-0}" -ge 500

# ---- batches of 1000 tx lookups, four connections at once ---------------------------
jq -R -c '{jsonrpc: "2.0", id: 1, method: "tx", params: {txid: .}}' "$E2E_DIR/txids" | jq -s -c . >"$E2E_DIR/tx.json"
check "the tx batch is ~124 KiB" test "$(stat -c %s "$E2E_DIR/tx.json")" -gt 120000
watched txs 10 $A post "$BASE" "$E2E_DIR/tx.json" 4 10
healthy txs
check "txs: every batch is refused whole with the budget error (-32010)" \
    jqc "$E2E_DIR/txs.attack" '.posts == 40 and .results == 0 and .codes["-32010"] == 40'
check "txs: the error names the cost and the budget" \
    jqc "$E2E_DIR/txs.attack" '.messages[0] | startswith("batch: cost 10000 over the budget 4000")'
# Within the budget (400 lookups, cost 4000) the work runs, a turn at a time.
head -400 "$E2E_DIR/txids" | jq -R -c '{jsonrpc: "2.0", id: 1, method: "tx", params: {txid: .}}' |
    jq -s -c . >"$E2E_DIR/tx400.json"
watched txs400 10 $A post "$BASE" "$E2E_DIR/tx400.json" 4 3
healthy txs400
check "txs400: 4 x 3 batches of 400 lookups answered in full" \
    jqc "$E2E_DIR/txs400.attack" '.posts == 12 and .results == 4800'

# ---- batches of 950 block reads, four connections at once -----------------------------
# 950 answers of ~68 KB are 62 MiB: under the former 64 MiB response bound, so
# a server that builds them all as JSON trees first takes several hundred MB.
for ((i = 0; i < 950; i++)); do echo "$BIG"; done |
    jq -c '{jsonrpc: "2.0", id: input_line_number, method: "block", params: {height: .}}' |
    jq -s -c . >"$E2E_DIR/block.json"
check "the block batch is ~65 KiB" test "$(stat -c %s "$E2E_DIR/block.json")" -gt 60000
watched blocks 12 $A post "$BASE" "$E2E_DIR/block.json" 4 4
healthy blocks
check "blocks: every batch answered, the results cut at the response bound (-32011 for the rest)" \
    jqc "$E2E_DIR/blocks.attack" '.posts == 16 and .failed == 0 and .results > 0 and .codes["-32011"] > 0'
check "blocks: no response much past the 16 MiB bound" \
    jqc "$E2E_DIR/blocks.attack" '.max_bytes < 18 * 1024 * 1024'

# ---- after ------------------------------------------------------------------------------
watched after 5 true
healthy after
check "the node is still running" kill -0 "$PID"
e2e_stop_all
check "no sanitizer report or assertion in the log" logs_clean "$NET"/node0/node.log
finish
