#!/usr/bin/env bash
# Builds a fully static x86_64 psmonitor (glibc linked in with crt-static), checks that it really
# is static, and prints its path and size. Works from any directory.
#
#   scripts/build-static.sh                 # -> target/psmonitor-static
#   CARGO_TARGET_DIR=/tmp/t scripts/build-static.sh   # -> /tmp/t/psmonitor-static
#
# The binary reads no NSS (it parses /etc/passwd itself and resolves no host names), so a
# static glibc build has none of glibc's "requires at runtime the shared libraries" caveats.
#
# Cross-building for boards (not checked on this machine: only the x86_64 target is installed
# and other rustup targets cannot be downloaded here). musl targets are static by default:
#   rustup target add aarch64-unknown-linux-musl          # or armv7-unknown-linux-musleabihf
#   apt-get install gcc-aarch64-linux-gnu                 # or gcc-arm-linux-gnueabihf (linker)
#   CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc \
#     cargo build --release --target aarch64-unknown-linux-musl
#   (armv7: CARGO_TARGET_ARMV7_UNKNOWN_LINUX_MUSLEABIHF_LINKER=arm-linux-gnueabihf-gcc)
# Alternatives that bring their own linker: `cargo zigbuild --release --target
# aarch64-unknown-linux-musl` (cargo-zigbuild + zig), or `cross build --release --target
# aarch64-unknown-linux-musl` (needs docker or podman).
set -euo pipefail

TRIPLE=x86_64-unknown-linux-gnu
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Cargo reads a relative CARGO_TARGET_DIR against its cwd; make it absolute before the cd.
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in
  /*) ;;
  *) TARGET_DIR="$PWD/$TARGET_DIR" ;;
esac
export CARGO_TARGET_DIR="$TARGET_DIR"
cd "$ROOT"

if [ "$(uname -m)" != x86_64 ]; then
  echo "build-static.sh: this builds $TRIPLE and must run on an x86_64 host (see the cross-building notes at the top)" >&2
  exit 1
fi

# It is the host target, so it is normally installed already.
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$TRIPLE"; then
  rustup target add "$TRIPLE"
fi

# `--target` keeps RUSTFLAGS off build scripts and proc-macros (serde_derive), which cannot
# be built with crt-static. CARGO_ENCODED_RUSTFLAGS would take precedence, so drop it.
unset CARGO_ENCODED_RUSTFLAGS
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static"
"${CARGO:-cargo}" build --release --target "$TRIPLE"

BUILT="$TARGET_DIR/$TRIPLE/release/psmonitor"
OUT="$TARGET_DIR/psmonitor-static"
cp -f "$BUILT" "$OUT"

if ! command -v file >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq file >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq file >/dev/null; }
fi

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
