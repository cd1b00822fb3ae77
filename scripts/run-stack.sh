#!/usr/bin/env bash
# Builds the stack in release mode and starts what exists on its embedded defaults.
#
# Today that is the wire library (proto/) and the three binaries' command lines: each prints its version.
# The agent, transfer and HBS services arrive with their issues, and ./control (issue 6) will replace this
# script as the way to run them.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --workspace --locked
for bin in hbs transfer agent; do
  printf 'falcon-%-9s %s\n' "$bin" "$(./target/release/falcon-$bin -v)"
done
echo "built into target/release/; the services themselves are not in this build yet (see README.md)"
