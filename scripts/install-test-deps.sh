#!/usr/bin/env bash
# Installs the system packages the test suite needs, idempotently.
# The interop tests build small standard-library Go programs (tests/go/), so they need a Go toolchain;
# Debian's golang-go is Go 1.19, the same major version the recorded captures came from.
set -euo pipefail

have_go() { command -v go >/dev/null 2>&1 && go version >/dev/null 2>&1; }

if have_go; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: no 'go' on PATH and no apt-get to install golang-go; install Go >= 1.19 by hand" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive
# apt-get update only when the package is unknown to the local index (keeps reruns fast and offline-friendly).
if ! apt-cache show golang-go >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends golang-go >/dev/null

have_go || { echo "install-test-deps: golang-go installed but 'go' still not runnable" >&2; exit 1; }
