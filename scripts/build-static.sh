#!/usr/bin/env bash
# Builds the static x86_64 psmonitor that the amd64 release ships (scripts/release --binary amd64:
# musl, std built from Debian's rust-web-src; docs/release.md), checks that it really is static,
# and prints its path and size. Works from any directory; installs the Debian packages it lacks
# (as root), as scripts/release does.
#
#   scripts/build-static.sh                 # -> target/psmonitor-static
#   CARGO_TARGET_DIR=/tmp/t scripts/build-static.sh   # -> /tmp/t/psmonitor-static
#
# The build itself happens in target/release-build (scripts/release's), so a later
# scripts/release amd64 finds it done. The binary reads no NSS (it parses /etc/passwd itself
# and resolves no host names). For ARM boards: scripts/release arm64 armhf (docs/release.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Cargo reads a relative CARGO_TARGET_DIR against its cwd; make it absolute before the cd.
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in
  /*) ;;
  *) TARGET_DIR="$PWD/$TARGET_DIR" ;;
esac
cd "$ROOT"

if [ "$(uname -m)" != x86_64 ]; then
  echo "build-static.sh: this builds the amd64 binary and must run on an x86_64 host (scripts/release)" >&2
  exit 1
fi

# scripts/release's build has its own target directory and toolchain (Debian's rustc-web).
BUILT="$(env -u CARGO_TARGET_DIR scripts/release --binary amd64)"
OUT="$TARGET_DIR/psmonitor-static"
mkdir -p "$TARGET_DIR"
cp -f "$BUILT" "$OUT"

file_out="$(file -b "$OUT")"
# ldd exits non-zero on a static binary ("not a dynamic executable"); only its words matter.
ldd_out="$(ldd "$OUT" 2>&1 || true)"
size="$(stat -c %s "$OUT")"
echo "file: $file_out"
echo "ldd: $ldd_out"

static=yes
case "$file_out" in
  *"static-pie linked"* | *"statically linked"*) ;;
  *) static=no ;;
esac
case "$ldd_out" in
  *"statically linked"* | *"not a dynamic executable"*) ;;
  *) static=no ;;
esac
if [ "$static" != yes ]; then
  echo "build-static.sh: $OUT is NOT static" >&2
  exit 1
fi

echo "size: $size bytes"
echo "static binary: $OUT"
