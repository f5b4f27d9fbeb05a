#!/usr/bin/env bash
# Builds the release CLI as one statically linked x86_64 Linux executable (the Lambda handler embedded) and
# packs it for a release: dist/login-alert-VERSION-x86_64-unknown-linux-gnu.tar.gz with a .sha256 beside it
# (`sha256sum -c` format). Prints the archive's path on stdout; progress goes to stderr.
#
# Static glibc (scripts/static.sh, as build.rs builds `bootstrap`) needs nothing from the host at run time, so
# the binary runs on Amazon Linux 2023 (CloudShell) whatever glibc built it. The test command builds the tests
# through the same scripts/static.sh, so the CLI the tests run (in an empty chroot too, tests/it/empty_root) is
# linked exactly as this one.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/static.sh
target=$STATIC_TARGET
id=$(cargo pkgid --quiet -p login-alert)
version=${id##*[#@]}
name="login-alert-$version-$target"
target_dir=${CARGO_TARGET_DIR:-target}

static_cargo build --release --locked -p login-alert --bin login-alert >&2
binary="$target_dir/$target/release/login-alert"

if readelf --program-headers --dynamic --wide "$binary" | grep -E 'INTERP|\(NEEDED\)' >&2; then
  echo "error: $binary is not static: it needs the dynamic loader or shared libraries listed above" >&2
  exit 1
fi

mkdir -p dist
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -m 0755 "$binary" "$stage/login-alert"
# Same binary, same archive: fixed order, owner and time (the commit's, else SOURCE_DATE_EPOCH, else 0).
mtime=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
tar --sort=name --mtime="@$mtime" --owner=0 --group=0 --numeric-owner -C "$stage" -cf - login-alert \
  | gzip -9n >"dist/$name.tar.gz"
(cd dist && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")

echo "dist/$name.tar.gz: $(du -k "dist/$name.tar.gz" | cut -f1) KiB ($(du -k "$binary" | cut -f1) KiB unpacked)" >&2
echo "dist/$name.tar.gz"
