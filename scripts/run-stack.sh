#!/usr/bin/env bash
# Builds the stack in release mode and starts what exists on its embedded defaults, on 127.0.0.1.
#
# That is falcon-hbs (JSON-RPC 6030, HTTP 6031, SQLite in var/hbs.db), falcon-transfer (JSON-RPC 8433, HTTP 6060,
# socket 4444) with its judge and graph outputs off, and falcon-agent (HTTP 127.0.0.1:1988) heartbeating to the
# HBS and reporting every 60 s to the transfer. They run until Ctrl-C. (`./control` comes with issue 6.)
#   ./target/release/falcon-hbs admin -c var/hbs.json export
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
cat > var/hbs.json <<'JSON'
{
    "debug": false,
    "database": "var/hbs.db",
    "listen": "127.0.0.1:6030",
    "trustable": ["127.0.0.1"],
    "http": {"enabled": true, "listen": "127.0.0.1:6031"}
}
JSON
cat > var/agent.json <<'JSON'
{
    "debug": false,
    "heartbeat": {"enabled": true, "addr": "127.0.0.1:6030", "interval": 60, "timeout": 1000},
    "transfer": {"enabled": true, "addrs": ["127.0.0.1:8433"], "interval": 60, "timeout": 1000, "spool": "var/spool"},
    "http": {"enabled": true, "listen": "127.0.0.1:1988", "backdoor": false}
}
JSON
echo "starting falcon-hbs (rpc 6030, http 6031), falcon-transfer (rpc 8433, http 6060, socket 4444) and falcon-agent (http 1988) on 127.0.0.1; Ctrl-C stops them"
./target/release/falcon-hbs -c var/hbs.json &
hbs=$!
./target/release/falcon-transfer -c var/transfer.json &
transfer=$!
trap 'kill -TERM $transfer $hbs 2>/dev/null; wait $transfer $hbs' EXIT
./target/release/falcon-agent -c var/agent.json
