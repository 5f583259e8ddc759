# Sourced by the end-to-end tests (lib.sh and test_audit.sh).

# A base port for RPC (base..base+99) and p2p (base+100..base+199): below the
# kernel's ephemeral range, so outgoing connections (ours and others') cannot
# be holding it, and with nothing listening in its 200 ports right now.
e2e_base_port() {
    local lo hi base used
    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
    [ "$lo" -gt 12200 ] || lo=32768
    for _ in $(seq 50); do
        base=$((10000 + (RANDOM % ((lo - 10200) / 100)) * 100))
        used=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' |
            awk -v b="$base" '$1 >= b && $1 < b + 200' | head -1)
        [ -z "$used" ] && { echo "$base"; return; }
    done
    echo "$base"
}
