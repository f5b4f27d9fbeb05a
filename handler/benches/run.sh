#!/usr/bin/env bash
# The handler benchmark (run by hand, never by `cargo test`):
#   1. the whole `login-alert preview --output slack` process on a 20,000-record CloudWatch Logs payload
#      (~25 MB decompressed) against its floor (handler/examples/floor.rs: decode, inflate and parse both JSON
#      layers, nothing else; target: within 1.5x) and against the seeds' own logic ported to Python
#      (reference.py), with hyperfine;
#   2. peak RSS of the same command on a ~1 MB batch, with /usr/bin/time -v (target: at most 32 MB).
# Medians are quoted (one slow or lucky run must not move the figure). Where the time goes, phase by phase:
#   cargo run --release -p login-alert-handler --features bench --example phases -- EVENT.json
# Needs: hyperfine (apt-get install hyperfine), python3 >= 3.9, GNU time. Usage: handler/benches/run.sh [N]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
n="${1:-20000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release -p login-alert --manifest-path "$root/Cargo.toml" >&2
cargo build --release -p login-alert-handler --features bench --example floor --manifest-path "$root/Cargo.toml" >&2
cli="$root/target/release/login-alert"
floor="$root/target/release/examples/floor"
# Run from an empty directory so no login-alert.toml changes the settings.
cd "$work"

python3 "$here/make_payload.py" "$work/big.json" "$n"
# What each renders: the Python port posts every sign-in and root record; login-alert skips root calls other AWS
# services make on root's behalf and sends one message per group (the payload's records have distinct source IPs,
# so nearly every record is its own group).
rust_lines=$("$cli" preview "$work/big.json" --output slack --account-name prod --timezone Asia/Tokyo | wc -l)
python_lines=$(python3 "$here/reference.py" "$work/big.json" | wc -l)
echo "Slack payloads: rust=$rust_lines python=$python_lines" >&2

hyperfine --warmup 2 --runs 15 --export-json "$work/hyperfine.json" \
  -n rust "$cli preview $work/big.json --output slack --account-name prod --timezone Asia/Tokyo > /dev/null" \
  -n floor "$floor $work/big.json > /dev/null" \
  -n python "python3 $here/reference.py $work/big.json > /dev/null"
python3 - "$work/hyperfine.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"median wall: rust {r['rust']*1000:.1f} ms, floor {r['floor']*1000:.1f} ms, python {r['python']*1000:.1f} ms; "
      f"rust is {r['rust']/r['floor']:.2f}x its floor (target: 1.5x) and {r['python']/r['rust']:.1f}x faster than python")
PY

# ~1 MB of CloudWatch Logs JSON is ~900 records.
python3 "$here/make_payload.py" "$work/1mb.json" 900
/usr/bin/time -v "$cli" preview "$work/1mb.json" --output slack > /dev/null 2> "$work/time.txt"
grep -E "Maximum resident set size" "$work/time.txt"
