#!/usr/bin/env bash
# Builds the stack in release mode and starts what exists on its embedded defaults, on 127.0.0.1.
#
# Today that is falcon-transfer (JSON-RPC 8433, HTTP 6060, socket 4444) with its judge and graph outputs off,
# and falcon-agent (HTTP 127.0.0.1:1988) reporting every 60 s to that transfer, with its heartbeat off until
# falcon-hbs exists. Both run until Ctrl-C (the transfer drains, the agent spools nothing: the transfer is up).
# Try:
#   curl -s http://127.0.0.1:1988/proc/cpu/usage
#   curl -s -X POST -d '[{"endpoint":"h","metric":"m","value":1,"step":60,"counterType":"GAUGE","tags":"","timestamp":0}]' \
#        http://127.0.0.1:1988/v1/push
#   curl -s http://127.0.0.1:6060/counter/all
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --workspace --locked
for bin in hbs transfer agent; do
  printf 'falcon-%-9s %s\n' "$bin" "$(./target/release/falcon-$bin -v)"
done

mkdir -p var
cat > var/transfer.json <<'JSON'
{
    "debug": false,
    "http": {"enabled": true, "listen": "127.0.0.1:6060"},
    "rpc": {"enabled": true, "listen": "127.0.0.1:8433"},
    "socket": {"enabled": true, "listen": "127.0.0.1:4444", "timeout": 3600},
    "judge": {"enabled": false},
    "graph": {"enabled": false}
}
JSON
cat > var/agent.json <<'JSON'
{
    "debug": false,
    "heartbeat": {"enabled": false, "addr": "127.0.0.1:6030", "interval": 60, "timeout": 1000},
    "transfer": {"enabled": true, "addrs": ["127.0.0.1:8433"], "interval": 60, "timeout": 1000, "spool": "var/spool"},
    "http": {"enabled": true, "listen": "127.0.0.1:1988", "backdoor": false}
}
JSON
echo "starting falcon-transfer on 127.0.0.1 (rpc 8433, http 6060, socket 4444) and falcon-agent (http 1988); Ctrl-C stops both"
./target/release/falcon-transfer -c var/transfer.json &
transfer=$!
trap 'kill -TERM $transfer 2>/dev/null; wait $transfer' EXIT
./target/release/falcon-agent -c var/agent.json
