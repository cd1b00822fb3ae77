#!/usr/bin/env bash
# Installs the system packages the test suite needs, idempotently.
# - golang-go: the interop tests build small standard-library Go programs (tests/go/); Debian's golang-go is
#   Go 1.19, the same major version the recorded captures came from.
# - git: the agent's plugin tests clone a local repository with the git binary, as /plugin/update does.
# - mariadb-server: the MySQL-backed HBS tests run a private MariaDB server (tests/src/mariadb.rs) on a temporary
#   data directory and a loopback port; they need mariadbd and mariadb-install-db, never the system service.
# - prometheus, victoria-metrics, influxdb: the storage tests (tests/src/{prometheus,victoria,influxdb}.rs) run
#   private servers the same way: Prometheus 2.42 (with promtool), VictoriaMetrics 1.79 and InfluxDB 1.6, each on a
#   temporary directory and loopback ports; their system services are never started.
# - chromium: the pages test (tests/pages_browser.rs) loads each binary's page in headless Chromium, with a fresh
#   profile and no background networking; it is skipped with a message where Chromium is absent.
# - dpkg-dev, binutils: scripts/deb.sh (the Debian package test) runs dpkg-shlibdeps and strips with objcopy.
# - lintian, systemd (for systemd-analyze): the Debian package test (tests/deb_package.rs) lints the .debs that
#   scripts/deb.sh makes and verifies their units; systemd-analyze only reads unit files, nothing is started.
set -euo pipefail

have_go() { command -v go >/dev/null 2>&1 && go version >/dev/null 2>&1; }
have_git() { command -v git >/dev/null 2>&1; }
# Looked for where the test harness looks: sbin is often not on a non-root PATH.
have_exe() {
  local n
  for n in "$@"; do
    command -v "$n" >/dev/null 2>&1 && return 0
    [ -x "/usr/sbin/$n" ] || [ -x "/usr/bin/$n" ] && return 0
  done
  return 1
}
have_mariadb() { have_exe mariadbd mysqld && have_exe mariadb-install-db mysql_install_db; }
have_prometheus() { have_exe prometheus && have_exe promtool; }
have_victoria() { have_exe victoria-metrics; }
have_influxdb() { have_exe influxd; }
have_lintian() { have_exe lintian; }
have_chromium() { have_exe chromium chromium-browser; }
have_dpkg_dev() { have_exe dpkg-shlibdeps; }
have_binutils() { have_exe objcopy; }
# /bin/kill, which the packaged units' ExecReload names and systemd-analyze verify looks for.
have_procps() { [ -x /bin/kill ] || [ -x /usr/bin/kill ]; }
have_systemd_analyze() { have_exe systemd-analyze; }

missing=()
have_go || missing+=(golang-go)
have_git || missing+=(git)
have_mariadb || missing+=(mariadb-server)
have_prometheus || missing+=(prometheus)
have_victoria || missing+=(victoria-metrics)
have_influxdb || missing+=(influxdb)
have_lintian || missing+=(lintian)
have_chromium || missing+=(chromium)
have_dpkg_dev || missing+=(dpkg-dev)
have_binutils || missing+=(binutils)
have_procps || missing+=(procps)
have_systemd_analyze || missing+=(systemd)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: missing ${missing[*]} and no apt-get to install them; install them by hand" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# The postinsts of mariadb-server, prometheus, victoria-metrics and influxdb start their system services through
# invoke-rc.d (or deb-systemd-invoke, which asks the same policy). The tests never use those services, and on a
# machine without systemd invoke-rc.d would run the init scripts and leave servers on ports 3306, 9090, 8428 and
# 8086/8088. Unless the machine already has a policy (container images ship one that denies everything), deny starts
# for the duration of the install with a temporary policy-rc.d, removed again on exit.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
  trap '$SUDO rm -f "$POLICY"' EXIT
  printf '#!/bin/sh\n# temporary, from install-test-deps.sh: no service starts during the install\nexit 101\n' \
    | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
fi

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
have_mariadb || { echo "install-test-deps: mariadb-server installed but mariadbd/mariadb-install-db not found" >&2; exit 1; }
have_prometheus || { echo "install-test-deps: prometheus installed but prometheus/promtool not found" >&2; exit 1; }
have_victoria || { echo "install-test-deps: victoria-metrics installed but victoria-metrics not found" >&2; exit 1; }
have_influxdb || { echo "install-test-deps: influxdb installed but influxd not found" >&2; exit 1; }
have_lintian || { echo "install-test-deps: lintian installed but not found" >&2; exit 1; }
have_chromium || { echo "install-test-deps: chromium installed but not found" >&2; exit 1; }
have_dpkg_dev || { echo "install-test-deps: dpkg-dev installed but dpkg-shlibdeps not found" >&2; exit 1; }
have_binutils || { echo "install-test-deps: binutils installed but objcopy not found" >&2; exit 1; }
have_procps || { echo "install-test-deps: procps installed but /bin/kill not found" >&2; exit 1; }
have_systemd_analyze || { echo "install-test-deps: systemd installed but systemd-analyze not found" >&2; exit 1; }
