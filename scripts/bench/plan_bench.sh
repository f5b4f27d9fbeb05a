#!/usr/bin/env bash
# Times login-alert's no-op `plan` and `apply` on a fresh account behind a proxy that adds a fixed latency per AWS request.
#
# Usage (DIR holds all state; BIN is the login-alert binary to measure):
#   plan_bench.sh start DIR BIN [--delay-ms 80] [--fresh N]
#       Starts moto and the latency proxy on loopback, seeds one account that BIN applies (for the
#       no-op plans) and N fresh accounts (default 8) for `apply`. Each account has a single-region
#       trail `audit-trail` in eu-west-1, as a user's account would, and its own login-alert.toml.
#   plan_bench.sh fresh DIR N BIN          N more fresh accounts, configured by BIN's `init` (each `apply` run uses one up)
#   plan_bench.sh plan DIR BIN [--direct]  one no-op `plan --detailed-exitcode` (exit 0, or 2 if not a no-op)
#   plan_bench.sh apply DIR BIN [--direct] one `apply --yes` on the next unused fresh account
#   plan_bench.sh count DIR plan|apply BIN runs it once through the proxy and prints what the proxy saw:
#       requests, most in flight at once, the longest chain of requests made one after another,
#       and each call in DIR/calls-<command>.json
#   plan_bench.sh stop DIR                 stops moto and the proxy
# `plan` and `apply` are the commands to time (any whole-process timer); --direct skips the proxy
# so the same command runs with no added latency. Their output goes to DIR/last-<command>.log.
set -euo pipefail

die() { echo "plan_bench.sh: $*" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() { # port pid log
  for _ in $(seq 1 300); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; die "the process logging to $3 exited"; }
    sleep 0.1
  done
  die "nothing listens on port $1 after 30 s (see $3)"
}

# Seeds accounts straight at moto. Python rather than the AWS CLI: an account is chosen by moto's
# `x-moto-account-id` header, which the CLI cannot send. Prints one "id key secret" line per account.
seed_accounts() { # moto_url count
  python3 - "$1" "$2" <<'PY'
import secrets, sys
import boto3
from botocore.config import Config

url, count = sys.argv[1], int(sys.argv[2])
for _ in range(count):
    account = f"{100_000_000_000 + secrets.randbelow(800_000_000_000):012}"
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    iam.meta.events.register("before-sign.iam.*",
                             lambda request, **_: request.headers.__setitem__("x-moto-account-id", account))
    iam.create_user(UserName="operator")
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    session = boto3.Session(aws_access_key_id=key["AccessKeyId"],
                            aws_secret_access_key=key["SecretAccessKey"], region_name="eu-west-1")
    bucket = f"audit-logs-{account}"
    s3 = session.client("s3", endpoint_url=url, config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    cloudtrail = session.client("cloudtrail", endpoint_url=url)
    cloudtrail.create_trail(Name="audit-trail", S3BucketName=bucket)
    cloudtrail.start_logging(Name="audit-trail")
    print(account, key["AccessKeyId"], key["SecretAccessKey"])
PY
}

# Becomes login-alert as the account whose directory is $1, against endpoint $2 (an exec: nothing of
# this script stays between the timer and the binary).
run_as() { # account_dir endpoint bin args...
  local dir=$1 endpoint=$2 bin=$3
  shift 3
  # A relative path to the binary would no longer resolve once in the account's directory.
  if [[ $bin == */* && $bin != /* ]]; then bin=$PWD/$bin; fi
  # shellcheck disable=SC1091
  source "$dir/credentials"
  cd "$dir"
  exec env -i PATH="$PATH" HOME="$dir" AWS_ENDPOINT_URL="$endpoint" \
    AWS_ACCESS_KEY_ID="$ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$SECRET_KEY" \
    AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true NO_COLOR=1 \
    "$bin" "$@"
}

# Seeds N accounts under $dir/$pool/ and writes each one's login-alert.toml with `init`.
prepare() { # dir pool count bin
  local dir=$1 pool=$2 count=$3 bin=$4 id key secret
  mkdir -p "$dir/$pool"
  while read -r id key secret; do
    mkdir -p "$dir/$pool/$id"
    printf 'ACCOUNT_ID=%s\nACCESS_KEY=%s\nSECRET_KEY=%s\n' "$id" "$key" "$secret" >"$dir/$pool/$id/credentials"
    # init reads every region; it is set-up, not measured, so it goes straight to moto.
    (run_as "$dir/$pool/$id" "$MOTO_URL" "$bin" init --yes --trail audit-trail --email secops@example.com \
      --account-name prod --timezone Asia/Tokyo >"$dir/$pool/$id/init.log" 2>&1) ||
      die "init failed for account $id: see $dir/$pool/$id/init.log"
  done < <(seed_accounts "$MOTO_URL" "$count")
}

load() { # dir
  [[ -f $1/bench.env ]] || die "$1 is not a started bench directory (run: plan_bench.sh start $1 BIN)"
  # shellcheck disable=SC1091
  source "$1/bench.env"
}

choose_endpoint() { # --direct or nothing; sets $endpoint
  case ${1:-} in
    --direct) endpoint=$MOTO_URL ;;
    '') endpoint=$PROXY_URL ;;
    *) die "unknown option $1" ;;
  esac
}

cmd_start() {
  [[ $# -ge 2 ]] || die "usage: plan_bench.sh start DIR BIN [--delay-ms MS] [--fresh N]"
  local dir=$1 bin=$2 delay_ms=80 fresh=8
  shift 2
  while [[ $# -gt 0 ]]; do
    case $1 in
      --delay-ms) delay_ms=$2; shift 2 ;;
      --fresh) fresh=$2; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  [[ ! -e $dir/bench.env ]] || die "$dir is already started (plan_bench.sh stop $dir first)"
  mkdir -p "$dir"
  dir=$(realpath "$dir")
  # A start that fails half-way must not leave moto and the proxy running.
  trap '[[ $? -eq 0 ]] || cmd_stop "$dir"' EXIT
  python3 -c 'import moto.server, boto3' 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'moto[server]==5.2.*'

  local moto_port proxy_port
  moto_port=$(free_port)
  python3 -m moto.server -H 127.0.0.1 -p "$moto_port" >"$dir/moto.log" 2>&1 &
  echo $! >"$dir/moto.pid"
  wait_for_port "$moto_port" "$(cat "$dir/moto.pid")" "$dir/moto.log"
  proxy_port=$(free_port)
  python3 "$(realpath "$(dirname "$0")")/latency_proxy.py" --upstream "http://127.0.0.1:$moto_port" --port "$proxy_port" \
    --delay-ms "$delay_ms" >"$dir/proxy.log" 2>&1 &
  echo $! >"$dir/proxy.pid"
  wait_for_port "$proxy_port" "$(cat "$dir/proxy.pid")" "$dir/proxy.log"
  printf 'MOTO_URL=http://127.0.0.1:%s\nPROXY_URL=http://127.0.0.1:%s\nDELAY_MS=%s\n' \
    "$moto_port" "$proxy_port" "$delay_ms" >"$dir/bench.env"
  load "$dir"

  prepare "$dir" planned 1 "$bin"
  local planned code=0
  planned=$(echo "$dir"/planned/*)
  (run_as "$planned" "$MOTO_URL" "$bin" apply --yes >"$planned/apply.log" 2>&1) ||
    die "apply failed on the plan account: see $planned/apply.log"
  (run_as "$planned" "$MOTO_URL" "$bin" plan --detailed-exitcode >"$planned/plan.log" 2>&1) || code=$?
  [[ $code -eq 0 ]] || die "plan after apply is not a no-op (exit $code): see $planned/plan.log"
  prepare "$dir" fresh "$fresh" "$bin"
  echo "moto $MOTO_URL, proxy $PROXY_URL (+$DELAY_MS ms a request); $fresh fresh accounts in $dir/fresh" >&2
}

cmd_plan() { # dir bin [--direct]
  local dir=$1 bin=$2 planned endpoint
  load "$dir"
  choose_endpoint "${3:-}"
  planned=("$dir"/planned/*)
  run_as "${planned[0]}" "$endpoint" "$bin" plan --detailed-exitcode >"$dir/last-plan.log" 2>&1
}

cmd_apply() { # dir bin [--direct]
  local dir=$1 bin=$2 endpoint account
  load "$dir"
  choose_endpoint "${3:-}"
  mkdir -p "$dir/used"
  # Claim an account by moving it: a rename is atomic, so concurrent runs never share one.
  for account in "$dir"/fresh/*; do
    [[ -d $account ]] || break
    if mv "$account" "$dir/used/" 2>/dev/null; then
      run_as "$dir/used/${account##*/}" "$endpoint" "$bin" apply --yes >"$dir/last-apply.log" 2>&1
    fi
  done
  die "no fresh account left in $dir/fresh: run plan_bench.sh fresh $dir N BIN"
}

cmd_count() { # dir plan|apply bin
  local dir=$1 command=$2 bin=$3 code=0 started elapsed
  load "$dir"
  curl -fsS "$PROXY_URL/__proxy/reset" >/dev/null
  started=$(date +%s%N)
  ("cmd_$command" "$dir" "$bin") || code=$?
  elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
  curl -fsS "$PROXY_URL/__proxy/stats" >"$dir/calls-$command.json"
  python3 - "$dir/calls-$command.json" "$command" "$code" "$elapsed" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1]))
command, code, elapsed = sys.argv[2], sys.argv[3], int(sys.argv[4])
print(f"{command}: exit {code}, {elapsed} ms at +{stats['delay_ms']:g} ms a request; "
      f"{stats['requests']} requests, at most {stats['max_in_flight']} in flight, "
      f"longest chain {stats['longest_chain']}, {stats['connections']} connections")
PY
}

cmd_stop() { # dir
  local dir=$1 name pid
  for name in proxy moto; do
    if [[ -f $dir/$name.pid ]]; then
      pid=$(cat "$dir/$name.pid")
      kill "$pid" 2>/dev/null || true
      # Waits so that the proxy's last words (its totals) are in proxy.log on return.
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$dir/$name.pid"
    fi
  done
  rm -f "$dir/bench.env"
}

[[ $# -ge 2 ]] || die "usage: plan_bench.sh start|fresh|plan|apply|count|stop DIR ... (see the top of this file)"
command=$1
shift
case $command in
  start) cmd_start "$@" ;;
  fresh) load "$1"; prepare "$(realpath "$1")" fresh "$2" "${3:?usage: plan_bench.sh fresh DIR N BIN}" ;;
  plan) cmd_plan "$@" ;;
  apply) cmd_apply "$@" ;;
  count) cmd_count "$@" ;;
  stop) cmd_stop "$@" ;;
  *) die "unknown command $command (start, fresh, plan, apply, count or stop)" ;;
esac
