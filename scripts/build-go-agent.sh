#!/usr/bin/env bash
# Builds the Go v0.3 falcon-agent, the reference the agent benchmark compares against
# (`FALCON_GO_AGENT=<binary> cargo bench -p falcon-agent --bench cycle_cost`).
#
#   scripts/build-go-agent.sh <falcon-plus git checkout or bare repo> <output binary>
#
# The checkout must have the v0.3 tag (it vendors every dependency, so nothing is downloaded). The build runs in
# GOPATH mode in a temporary directory. One guard is applied to the vendored toolkits/nux/ss_s.go, as in the
# recorded captures: v0.3 indexes the second half of `timewait A/B` from `ss -s`, which modern iproute2 prints as
# `timewait A`, and the agent would crash on its first cycle (falcon-plus issue #747).
set -euo pipefail

src=${1:?usage: build-go-agent.sh <falcon-plus repo> <output>}
out=${2:?usage: build-go-agent.sh <falcon-plus repo> <output>}
command -v go >/dev/null || { echo "build-go-agent: go is not installed (apt-get install golang-go)" >&2; exit 1; }

gopath=$(mktemp -d)
trap 'chmod -R u+w "$gopath" 2>/dev/null; rm -rf "$gopath"' EXIT
dest="$gopath/src/github.com/open-falcon/falcon-plus"
mkdir -p "$dest"
git -C "$src" archive v0.3 | tar -x -C "$dest"

ss="$dest/vendor/github.com/toolkits/nux/ss_s.go"
sed -i 's|m\["slabinfo.timewait"\], _ = strconv.ParseUint(timewait_arr\[1\], 10, 64)|if len(timewait_arr) > 1 { m["slabinfo.timewait"], _ = strconv.ParseUint(timewait_arr[1], 10, 64) }|' "$ss"
grep -q 'len(timewait_arr) > 1' "$ss" || { echo "build-go-agent: the ss_s.go guard did not apply" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
out_abs="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
(cd "$dest/modules/agent" && GOPATH="$gopath" GO111MODULE=off GOFLAGS= GOCACHE="$gopath/cache" go build -o "$out_abs" .)
echo "built $out_abs"
