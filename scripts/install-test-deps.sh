#!/usr/bin/env bash
# Installs the system packages the test suite needs, idempotently.
# - golang-go: the interop tests build small standard-library Go programs (tests/go/); Debian's golang-go is
#   Go 1.19, the same major version the recorded captures came from.
# - git: the agent's plugin tests clone a local repository with the git binary, as /plugin/update does.
set -euo pipefail

have_go() { command -v go >/dev/null 2>&1 && go version >/dev/null 2>&1; }
have_git() { command -v git >/dev/null 2>&1; }

missing=()
have_go || missing+=(golang-go)
have_git || missing+=(git)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: missing ${missing[*]} and no apt-get to install them; install them by hand" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive
# apt-get update only when a package is unknown to the local index (keeps reruns fast and offline-friendly).
for p in "${missing[@]}"; do
  if ! apt-cache show "$p" >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    break
  fi
done
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

have_go || { echo "install-test-deps: golang-go installed but 'go' still not runnable" >&2; exit 1; }
have_git || { echo "install-test-deps: git installed but not runnable" >&2; exit 1; }
