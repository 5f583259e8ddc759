#!/usr/bin/env bash
# Several institutions build one genesis and change the validator set, with
# the command line only (docs/operations.md):
# - `gongzhi genesis new/add-validator/add-authority/add-account` build a
#   4-validator genesis from keys made by `gongzhi keygen`, and refuse bad hex,
#   duplicates and unknown roles with a message naming the flag;
# - `gongzhi genesis check` accepts it (and refuses a draft without validators);
# - `gongzhi init` makes the four homes, refuses a second time, and with
#   --force keeps node.key;
# - the four nodes, started from their homes, commit blocks, and a fifth
#   institution's node follows them as a full node;
# - three of the four validators approve the fifth key with `validator
#   approve`; `tx validator-update` refuses approval files that disagree or
#   carry a tampered signature, naming the file, and commits the good set,
#   after which `validators` lists the new key.
set -u
. "$(dirname "$0")/lib.sh"

BASE=$(e2e_base_port)
D=$E2E_DIR
G=$D/genesis.json
CHAIN=gongzhi-e2e-genesis
url() { echo "http://127.0.0.1:$((BASE + $1))"; }
home() { echo "$D/node$1"; }

# fails_with CODE TEXT COMMAND...: the command exits with CODE and its stderr
# contains TEXT.
fails_with() {
    local want=$1 text=$2 rc; shift 2
    "$@" >"$D/out" 2>"$D/err"
    rc=$?
    [ "$rc" -eq "$want" ] && grep -q -F -- "$text" "$D/err" || { echo "  rc=$rc: $(cat "$D/err")"; return 1; }
}

# ---- keys and the genesis ----------------------------------------------------------
mkdir -p "$D/keys"
for i in 0 1 2 3 4; do "$GZ" keygen --out "$D/keys/v$i.key" >"$D/keys/v$i.pub"; done
"$GZ" keygen --out "$D/keys/registrar.key" >"$D/keys/registrar.pub"
"$GZ" keygen --out "$D/keys/alice.key" >"$D/keys/alice.pub"
pub() { cat "$D/keys/$1.pub"; }
quiet() { "$@" >/dev/null; }

check "genesis new writes a draft" quiet "$GZ" genesis new --out "$G" --chain-id "$CHAIN"
check "genesis new refuses to overwrite it (naming --out)" fails_with 1 "--out" "$GZ" genesis new --out "$G"
check "genesis check refuses the draft without validators" fails_with 1 "validators" "$GZ" genesis check "$G"
for i in 0 1 2 3; do
    "$GZ" genesis add-validator --genesis "$G" --pub-key "$(pub v$i)" --power 10 --name "institution-$i" >/dev/null ||
        fail "genesis add-validator $i"
done
check "genesis add-authority registrar" quiet "$GZ" genesis add-authority --genesis "$G" --role registrar --pub-key "$(pub registrar)"
check "genesis add-account" quiet "$GZ" genesis add-account --genesis "$G" --account "$(pub alice)" --level 8 --classes 1 --label alice

# Negative cases: each message names the flag.
check "add-validator: bad hex is refused (--pub-key, exit 2)" \
    fails_with 2 "--pub-key" "$GZ" genesis add-validator --genesis "$G" --pub-key 12zz --power 10 --name x
check "add-validator: a duplicate key is refused, in either case (--pub-key)" \
    fails_with 1 "--pub-key" "$GZ" genesis add-validator --genesis "$G" --pub-key "$(pub v2 | tr a-f A-F)" --power 5 --name x
check "add-validator: power 0 is refused (--power)" \
    fails_with 2 "--power" "$GZ" genesis add-validator --genesis "$G" --pub-key "$(pub v4)" --power 0 --name x
check "add-validator: a name over 64 bytes is refused (--name)" \
    fails_with 2 "--name" "$GZ" genesis add-validator --genesis "$G" --pub-key "$(pub v4)" --power 1 --name "$(printf 'n%.0s' $(seq 65))"
check "add-validator: --name is required" \
    fails_with 2 "--name" "$GZ" genesis add-validator --genesis "$G" --pub-key "$(pub v4)" --power 1
check "add-authority: an unknown role is refused (--role)" \
    fails_with 2 "--role" "$GZ" genesis add-authority --genesis "$G" --role king --pub-key "$(pub alice)"
check "add-authority: bad hex is refused (--pub-key)" \
    fails_with 2 "--pub-key" "$GZ" genesis add-authority --genesis "$G" --role governor --pub-key abc
check "add-authority: a duplicate key in one role is refused (--pub-key)" \
    fails_with 1 "--pub-key" "$GZ" genesis add-authority --genesis "$G" --role registrar --pub-key "$(pub registrar)"
check "add-account: bad hex is refused (--account)" \
    fails_with 2 "--account" "$GZ" genesis add-account --genesis "$G" --account xyz --level 1 --classes 0
check "add-account: level 11 is refused (--level)" \
    fails_with 2 "--level" "$GZ" genesis add-account --genesis "$G" --account "$(pub v4)" --level 11 --classes 0
check "add-account: a duplicate account is refused (--account)" \
    fails_with 1 "--account" "$GZ" genesis add-account --genesis "$G" --account "$(pub alice)" --level 1 --classes 0
check "add-validator: a missing file is refused (--genesis)" \
    fails_with 1 "--genesis" "$GZ" genesis add-validator --genesis "$D/none.json" --pub-key "$(pub v4)" --power 1 --name x

"$GZ" genesis check "$G" >"$D/check.json" 2>"$D/err"
check "genesis check accepts the genesis" test $? -eq 0
check "genesis check: chain id, four validators in order, a genesis hash" \
    test "$(jq -r '[.chain_id, (.validators | map(.pub_key) | join(",")), (.genesis_hash | test("^[0-9a-f]{64}$"))] | join(" ")' "$D/check.json")" \
    = "$CHAIN $(pub v0),$(pub v1),$(pub v2),$(pub v3) true"
check "the negative cases left the file as it was (4 validators, 1 registrar, 1 account)" \
    test "$(jq -c '[(.validators | length), (.authorities.registrar | length), (.accounts | length), .authorities.governor]' "$G")" = '[4,1,1,[]]'
VHASH=$(jq -r .validators_hash "$D/check.json")

# ---- four homes ------------------------------------------------------------------
init_home() { # INDEX [extra flags]: a home for node INDEX, peering with nodes 0..3
    local i=$1 j peers=(); shift
    for j in 0 1 2 3; do [ "$j" -ne "$i" ] && peers+=(--peer "127.0.0.1:$((BASE + 100 + j))"); done
    "$GZ" init --home "$(home "$i")" --genesis "$G" --key "$D/keys/v$i.key" \
        --rpc "127.0.0.1:$((BASE + i))" --p2p "127.0.0.1:$((BASE + 100 + i))" "${peers[@]}" "$@"
}
ok_init=0
for i in 0 1 2 3; do [ "$(init_home "$i")" = "$(pub v$i)" ] && ok_init=$((ok_init + 1)); done
check "init makes four homes, each printing its own key" test "$ok_init" -eq 4
KEY0=$(sha256sum <"$(home 0)/node.key")
check "init refuses a home that holds genesis.json, config.json and node.key (naming --force)" \
    fails_with 1 "--force" init_home 0
grep -q "genesis.json, config.json, node.key" "$D/err" || fail "init names what the home holds: $(cat "$D/err")"
check "init --force rewrites the home and prints the same key" test "$(init_home 0 --force)" = "$(pub v0)"
check "init --force with another --key refuses to replace node.key" fails_with 1 "never replaced" \
    "$GZ" init --home "$(home 0)" --genesis "$G" --key "$D/keys/v1.key" --force
check "node.key is unchanged" test "$(sha256sum <"$(home 0)/node.key")" = "$KEY0"
check "node.key is still mode 0600" test "$(stat -c %a "$(home 0)/node.key")" = 600

# ---- the network -----------------------------------------------------------------
for i in 0 1 2 3; do start_node "$(home "$i")"; done
check "the four nodes commit height 3" wait_for 60 all_at_least 3 0 1 2 3
check "they run the genesis' chain" test "$(rpc "$(url 0)" status '{}' | jq -r .result.chain_id)" = "$CHAIN"

# The fifth institution: its own home (a full node until it is in the set).
init_home 4 >/dev/null || fail "init of the fifth home"
start_node "$(home 4)"
H=$(max_height 0 1 2 3)
check "the fifth node follows the chain as a full node (height $H)" wait_for 60 all_at_least "$H" 4

# ---- approvals -------------------------------------------------------------------
NEW=$(pub v4)
for i in 0 1 2; do
    "$GZ" validator approve --key "$D/keys/v$i.key" --pub-key "$NEW" --power 10 --name institution-4 \
        --rpc "$(url "$i")" --out "$D/a$i.json" 2>"$D/err" || fail "validator approve by validator $i: $(cat "$D/err")"
done
fields_ok() { # FILE INDEX: the approval's fields
    test "$(jq -r '[.chain_id, .validators_hash, .pub_key, .power, .name, .validator_index, .validator, (.sig | test("^[0-9a-f]{128}$"))] | join(" ")' "$1")" \
        = "$CHAIN $VHASH $NEW 10 institution-4 $2 $(pub "v$2") true"
}
for i in 0 1 2; do check "approval $i carries the change, the set's hash, its index and key" fields_ok "$D/a$i.json" "$i"; done
check "approval files are mode 0644" test "$(stat -c %a "$D/a0.json")" = 644
check "validator approve by a key outside the set fails (exit 1)" fails_with 1 "not a validator of the current set" \
    "$GZ" validator approve --key "$D/keys/v4.key" --pub-key "$NEW" --power 10 --name x --rpc "$(url 0)"
check "validator approve: bad hex (--pub-key, exit 2)" fails_with 2 "--pub-key" \
    "$GZ" validator approve --key "$D/keys/v0.key" --pub-key 00 --power 10 --name x --rpc "$(url 0)"
check "validator approve: power not an integer (--power, exit 2)" fails_with 2 "--power" \
    "$GZ" validator approve --key "$D/keys/v0.key" --pub-key "$NEW" --power -3 --name x --rpc "$(url 0)"
check "validator approve: a name over 64 bytes (--name, exit 2)" fails_with 2 "--name" \
    "$GZ" validator approve --key "$D/keys/v0.key" --pub-key "$NEW" --power 1 --name "$(printf 'n%.0s' $(seq 65))" --rpc "$(url 0)"
check "validator approve: a new key needs --name (exit 2)" fails_with 2 "--name" \
    "$GZ" validator approve --key "$D/keys/v0.key" --pub-key "$NEW" --power 1 --rpc "$(url 0)"
check "validator approve: removing a key outside the set fails (exit 1)" fails_with 1 "nothing to remove" \
    "$GZ" validator approve --key "$D/keys/v0.key" --pub-key "$NEW" --power 0 --rpc "$(url 0)"

# Approval files that disagree, or are tampered with, are refused by name.
"$GZ" validator approve --key "$D/keys/v3.key" --pub-key "$NEW" --power 5 --name institution-4 \
    --rpc "$(url 3)" --out "$D/other-power.json" 2>/dev/null || fail "approval with another power"
jq '.sig = ((.sig[0:10] | ascii_downcase) + (if .sig[10:11] == "0" then "1" else "0" end) + .sig[11:])' "$D/a1.json" >"$D/tampered.json"
check "tx validator-update refuses approvals of another power, naming the file and field" \
    fails_with 1 "other-power.json: power differs" "$GZ" tx validator-update --approval "$D/a0.json" \
    --approval "$D/other-power.json" --key "$D/keys/v0.key" --rpc "$(url 0)"
check "tx validator-update refuses a tampered signature, naming the file" fails_with 1 "tampered.json: bad signature" \
    "$GZ" tx validator-update --approval "$D/a0.json" --approval "$D/tampered.json" --approval "$D/a2.json" \
    --key "$D/keys/v0.key" --rpc "$(url 0)"
echo '{"chain_id": 1}' >"$D/garbage.json"
check "tx validator-update refuses a file that is not an approval, naming it" fails_with 2 "garbage.json" \
    "$GZ" tx validator-update --approval "$D/garbage.json" --key "$D/keys/v0.key" --rpc "$(url 0)"
check "tx validator-update needs --approval" fails_with 2 "--approval" \
    "$GZ" tx validator-update --key "$D/keys/v0.key" --rpc "$(url 0)"

# The good set (a0 twice: the repeat is dropped), signed by validator 0's key.
# This step needs the ledger's VALIDATOR_UPDATE execution.
"$GZ" tx validator-update --approval "$D/a0.json" --approval "$D/a2.json" --approval "$D/a1.json" \
    --approval "$D/a0.json" --key "$D/keys/v0.key" --rpc "$(url 0)" --wait >"$D/update.json" 2>"$D/err"
rc=$?
check "tx validator-update --wait commits with code 0 (rc $rc: $(jq -c '{code, message}' "$D/update.json" 2>/dev/null))" \
    test "$rc" -eq 0 -a "$(jq -r .code "$D/update.json")" = 0
check "the repeated approval was dropped, and said so" grep -q "1 repeated approval dropped" "$D/err"
lists_new() { rpc "$(url "$1")" validators '{}' | jq -e --arg k "$NEW" '.result | map(select(.pub_key == $k and .power == 10)) | length == 1'; }
check "validators then lists the new key" wait_for 20 lists_new 0
check "every node lists it" wait_for 20 lists_new 3
check "the old approvals are now for an expired set: a warning says so" fails_with 1 "another validator set" \
    "$GZ" tx validator-update --approval "$D/a0.json" --approval "$D/a1.json" --approval "$D/a2.json" \
    --key "$D/keys/v1.key" --rpc "$(url 1)" --wait

e2e_stop_all
check "no node log holds a sanitizer report or a failed assertion" logs_clean "$D"/node*/node.log
finish
