#!/usr/bin/env bash
# Runs login-alert end to end with no AWS account: starts moto on loopback, seeds a single-region
# trail (as a user's account would have), then shows init, plan, apply, a second plan with no
# changes, and destroy. Nothing leaves this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'moto[server]==5.2.*'
cargo build --quiet
bin="$PWD/target/debug/login-alert"

work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true; rm -rf "$work"' EXIT
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do sleep 0.2; done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

echo "== An account with a single-region trail 'audit-trail' in eu-west-1 (moto on $AWS_ENDPOINT_URL)"
python3 - <<'PY'
import os, boto3
kw = dict(endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="eu-west-1")
boto3.client("s3", **kw).create_bucket(
    Bucket="demo-audit-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
ct = boto3.client("cloudtrail", **kw)
ct.create_trail(Name="audit-trail", S3BucketName="demo-audit-logs")
ct.start_logging(Name="audit-trail")
PY

cd "$work"
step() { printf '\n\033[1m$ login-alert %s\033[0m\n' "$*"; "$bin" "$@"; }
step init --yes --trail audit-trail --email secops@example.com --account-name demo --timezone Asia/Tokyo
cat login-alert.toml
step plan
step apply --yes
step plan --detailed-exitcode
step destroy --yes
step plan --destroy
