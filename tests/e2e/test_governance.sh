#!/usr/bin/env bash
# The platform's story on a 4-validator devnet, through the CLI: a distrust vote
# opened by 20 whale co-signers passes and cuts the controller's shared credit;
# at zero every IP of that controller is refused; a release drawing more than
# 30% reject in pre-review is delayed; a board vote marks controllers; a DAO vote
# fixes a price; a sale is split to the fen; a reward pool pays the voters.
# Every validator must end with the same block ids and state roots.
set -u
. "$(dirname "$0")/lib.sh"

BASE=$(e2e_base_port)
URL=http://127.0.0.1:$BASE
NET=$E2E_DIR/net
mkdir -p "$NET"
# Short windows so time-based rules play out in seconds.
jq '.policy.votes.pre_review_ms = 4000 | .policy.votes.pre_review_close_ms = 0' \
    "$(dirname "$0")/../../genesis.json" > "$E2E_DIR/template.json"
"$GZ" devnet --dir "$NET" --validators 4 --base-port "$BASE" --template "$E2E_DIR/template.json" >"$NET.out" 2>&1 &
E2E_PIDS+=($!)
DEVNET_PID=$!
check "4-validator devnet is up" wait_for 30 height_at_least "$URL" 1
cd "$E2E_DIR"
K=$NET/keys
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# Waits for the background jobs started since the last call (not the devnet).
jobs_wait() { local p; for p in $(jobs -p); do [ "$p" = "$DEVNET_PID" ] || wait "$p"; done; }
tx() { "$GZ" tx "$@" --rpc "$URL" --wait; }
code() { jq -r .code <<<"$1"; }
node_url() { echo "http://127.0.0.1:$((BASE + $1))"; }

# ---- accounts ------------------------------------------------------------------
OWNER=$("$GZ" keygen --out owner.key)
tx account-set --account "$OWNER" --level 5 --classes 8 --label creator --key "$K/registrar.key" >/dev/null
for i in $(seq 0 21); do
    W[$i]=$("$GZ" keygen --out "whale$i.key")
    "$GZ" tx account-set --account "${W[$i]}" --level 8 --classes 1 --label "whale$i" \
        --key "$K/registrar.key" --nonce $((i + 1)) --rpc "$URL" >/dev/null &
done
jobs_wait
check "22 whales registered" wait_for 20 bash -c "\"$GZ\" query account account=${W[21]} --rpc $URL"
for i in 0 1 2 3 4; do
    "$GZ" tx gov-grant --account "${W[$i]}" --amount $((100 * (i + 1))) --category 1 --key "$K/governor.key" \
        --nonce "$i" --rpc "$URL" >/dev/null &
done
jobs_wait

# ---- issuers sharing one controller ---------------------------------------------
out=$(tx issuer-set --issuer ip-a --controller ctl-1 --owner "$OWNER" --name "IP A" --key "$K/registrar.key")
check "issuer ip-a under controller ctl-1" test "$(code "$out")" = 0
out=$(tx issuer-set --issuer ip-b --controller ctl-1 --owner "$OWNER" --name "IP B" --key "$K/registrar.key")
check "issuer ip-b under the same controller" test "$(code "$out")" = 0
tx issuer-set --issuer ip-c --controller ctl-2 --owner "$OWNER" --name "IP C" --key "$K/registrar.key" >/dev/null
ctl=$("$GZ" query controller controller_id=ctl-1 --rpc "$URL")
check "controller ctl-1 starts at the pilot's 10 points" test "$(jq -r .score <<<"$ctl")" = 10

# ---- pre-review: more than 30% reject delays the release -------------------------
RT=$(( $(now_ms) + 6000 ))
out=$(tx release-announce --release r-1 --issuer ip-c --title "drop 1" --supply 100 --price 9900 \
      --release-time "$RT" --key owner.key)
check "release r-1 announced (opens its pre-review)" test "$(code "$out")" = 0
PR=$(jq -r .txid <<<"$out")
for i in 0 1 2; do tx vote --proposal "$PR" --choice 1 --key "whale$i.key" >/dev/null & done
for i in 3 4 5 6; do tx vote --proposal "$PR" --choice 0 --key "whale$i.key" >/dev/null & done
jobs_wait
check "pre-review closes with 3 of 7 reject: release r-1 delayed" \
    wait_for 20 bash -c "[ \"\$(\"$GZ\" query release release_id=r-1 --rpc $URL | jq -r .status)\" = delayed ]"

# ---- distrust vote: 20 whale co-signers open it, eligible voters pass it ---------
out=$(tx proposal-create --kind 1 --subject ctl-1 --title "ctl-1 floods low-quality drops" \
      --option yes --option no --voting-ms 4000 --key whale0.key)
check "whale0 creates a distrust proposal" test "$(code "$out")" = 0
PD=$(jq -r .txid <<<"$out")
check "it waits for co-signers" test "$("$GZ" query proposal proposal_id="$PD" --rpc "$URL" | jq -r .status)" = cosigning
for i in $(seq 1 19); do tx proposal-cosign --proposal "$PD" --key "whale$i.key" >/dev/null & done
jobs_wait
check "the 20th co-signer opens it" test "$("$GZ" query proposal proposal_id="$PD" --rpc "$URL" | jq -r .status)" = open
for i in $(seq 0 21); do tx vote --proposal "$PD" --choice 0 --key "whale$i.key" >/dev/null & done
jobs_wait
check "the distrust vote passes at its deadline" \
    wait_for 20 bash -c "[ \"\$(\"$GZ\" query proposal proposal_id=$PD --rpc $URL | jq -r .status)\" = passed ]"
check "controller ctl-1 loses 5 points" test "$("$GZ" query controller controller_id=ctl-1 --rpc "$URL" | jq -r .score)" = 5
out=$(tx credit-adjust --controller ctl-1 --delta -20 --reason 4 --memo "wash trading" --key "$K/credit_officer.key")
check "wash trading costs the fixed -20" test "$(code "$out")" = 0
ctl=$("$GZ" query controller controller_id=ctl-1 --rpc "$URL")
check "at zero the controller is suspended" test "$(jq -r .status <<<"$ctl")/$(jq -r .score <<<"$ctl")" = suspended/0
out=$(tx release-announce --release r-2 --issuer ip-a --title "drop 2" --supply 10 --price 100 --release-time $(( $(now_ms) + 60000 )) --key owner.key)
check "ip-a's next release is refused (code 10)" test "$(code "$out")" = 10
out=$(tx release-announce --release r-3 --issuer ip-b --title "drop 3" --supply 10 --price 100 --release-time $(( $(now_ms) + 60000 )) --key owner.key)
check "so is ip-b's, same controller (code 10)" test "$(code "$out")" = 10
out=$(tx credit-adjust --controller ctl-1 --delta -7 --reason 4 --key "$K/credit_officer.key")
check "a penalty outside its reason's bounds is refused (code 9)" test "$(code "$out")" = 9

# ---- board, DAO ----------------------------------------------------------------------
out=$(tx proposal-create --kind 4 --subject board-2026-11 --option ctl-1 --option ctl-2 --voting-ms 3000 --key "$K/governor.key")
PB=$(jq -r .txid <<<"$out")
for i in 0 1 2; do tx vote --proposal "$PB" --choice 1 --key "whale$i.key" >/dev/null & done
jobs_wait
check "the board vote closes" \
    wait_for 20 bash -c "[ \"\$(\"$GZ\" query proposal proposal_id=$PB --rpc $URL | jq -r .status)\" = passed ]"
check "ctl-2 is marked recommended" bash -c "\"$GZ\" query controller controller_id=ctl-2 --rpc $URL | grep -q recommended"
check "ctl-1 is marked spurred" bash -c "\"$GZ\" query controller controller_id=ctl-1 --rpc $URL | grep -q spurred"
out=$(tx proposal-create --kind 5 --subject price/r-9 --option 9900 --option 12900 --weighting 2 --voting-ms 3000 --key "$K/governor.key")
PP=$(jq -r .txid <<<"$out")
tx vote --proposal "$PP" --choice 1 --key whale4.key >/dev/null &
tx vote --proposal "$PP" --choice 0 --key whale0.key >/dev/null &
tx vote --proposal "$PP" --choice 0 --key whale1.key >/dev/null &
jobs_wait
check "the DAO price vote is won by quota weight (500 > 100+200)" \
    wait_for 20 bash -c "[ \"\$(\"$GZ\" query proposal proposal_id=$PP --rpc $URL | jq -r .winner)\" = 1 ]"

# ---- revenue split and reward pool -----------------------------------------------------
PLAT=$("$GZ" keygen --out plat.key); FUND=$("$GZ" keygen --out fund.key)
tx account-set --account "$PLAT" --label platform --key "$K/registrar.key" >/dev/null
tx account-set --account "$FUND" --label fund --key "$K/registrar.key" >/dev/null
out=$(tx split-set --split drop-1 --recipient "$OWNER:700000" --recipient "$PLAT:200000" --recipient "$FUND:100000" --key owner.key)
check "the creator sets a 70/20/10 split" test "$(code "$out")" = 0
out=$(tx revenue --split drop-1 --amount 10001 --sale-ref sale-1 --key "$K/treasurer.key")
check "a sale of 10001 fen is split" test "$(code "$out")" = 0
b=$(for a in "$OWNER" "$PLAT" "$FUND"; do "$GZ" query account account="$a" --rpc "$URL" | jq -r .balance; done | paste -sd,)
check "creator/platform/fund get 7001/2000/1000: nothing lost ($b)" test "$b" = 7001,2000,1000
out=$(tx reward-pool --pool pool-1 --amount 1000 --proposal "$PP" --key "$K/treasurer.key")
check "a reward pool pays the DAO voters" test "$(code "$out")" = 0
b=$(for i in 0 1 4; do "$GZ" query account account="${W[$i]}" --rpc "$URL" | jq -r .balance; done | paste -sd,)
check "in proportion to quota 100/200/500 ($b)" test "$b" = 125,250,625

# ---- every validator agrees ----------------------------------------------------------------
H=$(height_of "$URL")
for i in 1 2 3; do wait_for 10 height_at_least "$(node_url $i)" "$H"; done
same=1
for h in $(seq 1 "$H"); do
    ref=$(rpc "$URL" block "{\"height\":$h}" | jq -r '.result.block_id + .result.header.state_root')
    for i in 1 2 3; do
        got=$(rpc "$(node_url $i)" block "{\"height\":$h}" | jq -r '.result.block_id + .result.header.state_root')
        [ "$got" = "$ref" ] || { same=0; echo "height $h differs on node$i"; }
    done
done
check "all 4 validators have the same block ids and state roots at heights 1..$H" test "$same" = 1
finish
