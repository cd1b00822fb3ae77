#!/usr/bin/env bash
# Builds the stack in release mode and starts what exists on its embedded defaults, on 127.0.0.1.
#
# Today that is falcon-transfer (JSON-RPC 8433, HTTP 6060, socket 4444), with its judge and graph outputs off
# until there is a whole stack to wire (./control, issue 6). It runs in the foreground; Ctrl-C stops it
# (it drains and exits). Try:
#   curl -s -X POST -d '[{"endpoint":"h","metric":"m","value":1,"step":60,"counterType":"GAUGE","tags":"","timestamp":0}]' \
#        http://127.0.0.1:6060/api/push
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
echo "starting falcon-transfer on 127.0.0.1 (rpc 8433, http 6060, socket 4444); Ctrl-C stops it"
exec ./target/release/falcon-transfer -c var/transfer.json
