#!/usr/bin/env bash
# scripts/deb.sh [--bin-dir DIR] [--out DIR] [--version V]
#
# One Debian package per binary (falcon-agent, falcon-transfer, falcon-hbs, falcon-updater) into --out
# (default dist/), from the binaries in --bin-dir (default target/release), as version --version (default the
# workspace version of Cargo.toml). The static parts come from packaging/ (packaging/README.md).
#
# Built with dpkg-deb --build --root-owner-group directly, not cargo-deb: one fewer tool to install in CI, and
# dpkg-deb, dpkg-shlibdeps and objcopy are on every Debian machine with dpkg-dev and binutils.
# FALCON_DEB_MAINTAINER and FALCON_DEB_HOMEPAGE override the Maintainer and Homepage fields, SOURCE_DATE_EPOCH
# the changelog's date and the files' times (default: the last commit's).
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
MODULES=(agent transfer hbs updater)
# @localhost is refused by lintian (bogus-mail-host, an error); example.org is reserved for placeholders.
MAINTAINER=${FALCON_DEB_MAINTAINER:-falcon-rs maintainers <falcon-rs@example.org>}
# falcon-rs has no published home yet: the project it replaces, whose configs and protocols it keeps.
HOMEPAGE=${FALCON_DEB_HOMEPAGE:-https://github.com/open-falcon/falcon-plus}

die() { echo "deb.sh: $*" >&2; exit 1; }

usage() {
  echo "usage: $0 [--bin-dir DIR] [--out DIR] [--version V]" >&2
  exit 2
}

bin_dir=$ROOT/target/release
out=$ROOT/dist
version=
while (( $# )); do
  case "$1" in
    --bin-dir) (( $# >= 2 )) || usage; bin_dir=$2; shift 2 ;;
    --out) (( $# >= 2 )) || usage; out=$2; shift 2 ;;
    --version) (( $# >= 2 )) || usage; version=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "deb.sh: unknown argument '$1'" >&2; usage ;;
  esac
done

for tool in dpkg-deb dpkg-shlibdeps objcopy gzip md5sum; do
  command -v "$tool" >/dev/null || die "$tool not found (packages dpkg-dev and binutils)"
done

if [[ -z "$version" ]]; then
  # The first version key of [workspace.package].
  version=$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n 1)
  [[ -n "$version" ]] || die "no version in [workspace.package] of $ROOT/Cargo.toml"
fi
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "'$version' is not a Debian version"
for m in "${MODULES[@]}"; do
  [[ -x "$bin_dir/falcon-$m" ]] || die "no executable $bin_dir/falcon-$m (build it, or pass --bin-dir)"
done
arch=$(dpkg --print-architecture)

# Reproducible dates: the commit's time when in a git checkout (SOURCE_DATE_EPOCH wins), else now.
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
date_rfc=$(LC_ALL=C date -u -d "@$epoch" -R)
# The copyright notice's years: first commit to this build.
year_last=$(date -u -d "@$epoch" +%Y)
year_first=$(git -C "$ROOT" log --reverse --format=%cd --date=format:%Y 2>/dev/null | head -n 1 || true)
years=$year_last
if [[ -n "$year_first" && "$year_first" != "$year_last" ]]; then
  years="$year_first-$year_last"
fi
export SOURCE_DATE_EPOCH=$epoch

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Fills the @NAME@ placeholders of a packaging/common template for module $1.
fill() {
  sed -e "s|@MODULE@|$1|g" -e "s|@VERSION@|$version|g" -e "s|@COMMIT@|$commit|g" -e "s|@DATE@|$date_rfc|g" \
    -e "s|@YEARS@|$years|g" -e "s|@MAINTAINER@|$MAINTAINER|g" "$2"
}

# The Depends of the shared libraries a binary links (libc6, libgcc-s1), as dpkg-shlibdeps computes them; it
# wants a debian/control to read, so one is made for it.
shlib_depends() {
  local bin=$1 dir="$work/shlibs" found
  mkdir -p "$dir/debian"
  printf 'Source: falcon-rs\n\nPackage: falcon-rs\nArchitecture: any\n' > "$dir/debian/control"
  # Its one expected warning is that the binary is not yet in a package's build tree.
  if ! found=$(cd "$dir" && dpkg-shlibdeps -O "$bin" 2> "$dir/stderr"); then
    cat "$dir/stderr" >&2
    die "dpkg-shlibdeps failed on $bin"
  fi
  sed -n 's/^shlibs:Depends=//p' <<< "$found"
}

build_one() {
  local m=$1 pkg="falcon-$1" src="$ROOT/packaging/$1" stage bin depends size deb
  bin="$bin_dir/falcon-$m"
  stage="$work/$pkg"
  rm -rf "$stage"
  # Modes set explicitly: the caller's umask must not reach the package.
  install -d -m 0755 "$stage/DEBIAN" "$stage/usr/bin" "$stage/etc/falcon" "$stage/lib/systemd/system" \
    "$stage/usr/share/doc/$pkg" "$stage/usr/share/man/man8" "$stage/usr/share/lintian/overrides"

  # What dh_strip does: symbols and debug info out, and the compiler's notes.
  objcopy --strip-unneeded --remove-section=.comment --remove-section=.note "$bin" "$stage/usr/bin/$pkg"
  chmod 0755 "$stage/usr/bin/$pkg"
  install -m 0644 "$src/$m.json" "$stage/etc/falcon/$m.json"
  install -m 0644 "$src/$pkg.service" "$stage/lib/systemd/system/$pkg.service"
  gzip -9n < "$src/$pkg.8" > "$stage/usr/share/man/man8/$pkg.8.gz"
  fill "$m" "$ROOT/packaging/common/copyright" > "$stage/usr/share/doc/$pkg/copyright"
  # A version without a Debian revision is a native package's, whose changelog is changelog.gz (lintian:
  # wrong-name-for-changelog-of-native-package); with one (--version 0.1.0-2), changelog.Debian.gz.
  local changelog=changelog.gz
  if [[ "$version" == *-* ]]; then changelog=changelog.Debian.gz; fi
  fill "$m" "$ROOT/packaging/common/changelog" | gzip -9n > "$stage/usr/share/doc/$pkg/$changelog"
  fill "$m" "$ROOT/packaging/common/lintian-overrides" > "$stage/usr/share/lintian/overrides/$pkg"
  chmod 0644 "$stage/usr/share/man/man8/$pkg.8.gz" "$stage/usr/share/doc/$pkg/"* \
    "$stage/usr/share/lintian/overrides/$pkg"

  for script in postinst prerm postrm; do
    fill "$m" "$ROOT/packaging/common/$script" > "$stage/DEBIAN/$script"
    chmod 0755 "$stage/DEBIAN/$script"
  done
  echo "/etc/falcon/$m.json" > "$stage/DEBIAN/conffiles"

  depends=$(shlib_depends "$stage/usr/bin/$pkg")
  [[ -n "$depends" ]] || die "dpkg-shlibdeps found no dependencies for $bin"
  # adduser and dpkg-statoverride (dpkg, essential) are what postinst needs.
  depends="adduser, $depends"
  size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
  {
    echo "Package: $pkg"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: $MAINTAINER"
    echo "Installed-Size: $size"
    echo "Depends: $depends"
    echo "Section: net"
    echo "Priority: optional"
    echo "Homepage: $HOMEPAGE"
    # Recommends (if any), then Description, last as in Debian's own packages.
    cat "$src/control"
  } > "$stage/DEBIAN/control"
  (cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
    > "$stage/DEBIAN/md5sums"
  chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

  deb="$out/${pkg}_${version}_${arch}.deb"
  dpkg-deb --build --root-owner-group "$stage" "$deb" >/dev/null
  echo "deb.sh: $deb"
}

for m in "${MODULES[@]}"; do
  build_one "$m"
done
