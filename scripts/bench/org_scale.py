#!/usr/bin/env python3
"""Organization coverage at scale: how many AWS requests a no-op `plan` makes, and how many of them
run one after another (the critical path), for an organization of many accounts × regions in moto.

Run by hand, never by CI (seeding 200 accounts × 4 regions takes minutes of moto's CPU):

    org_scale.py start DIR BIN [--accounts 200] [--units 10] [--depth 1] [--regions us-east-1,eu-west-1,...]
        Starts scripts/moto-fixed.py and latency_proxy.py (+80 ms a request) on loopback, makes an
        organization in moto: a management account, `--units` organizational units (each nesting
        `--depth` levels; 0 units: every account directly under the root), `--accounts` member
        accounts spread over the deepest units, trusted access for StackSets and a logging
        organization trail; then BIN `init` (organization coverage, EventBridge) and `apply`,
        straight to moto, and checks that a `plan` is then a no-op.
    org_scale.py count DIR BIN
        One no-op `plan --detailed-exitcode` by BIN through the proxy: prints requests, their
        count by operation, the most in flight at once and the longest chain of requests made one
        after another (by time, so an upper bound on the round trips in a row: two independent
        requests, one sent after the other's answer, count as a chain too, and moto answering
        slowly under load lengthens it), the wall time, and the wall time of the same plan straight
        to moto (moto's own CPU time: at 1,000 accounts it outweighs the added latency, so compare
        chains, not times); writes each call to DIR/calls.json.
    org_scale.py stop DIR
        Stops moto and the proxy.
"""

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
STACKSETS = "member.org.stacksets.cloudformation.amazonaws.com"
HOME = "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, proc, log):
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if proc.poll() is not None:
                sys.exit(f"org_scale: the process logging to {log} exited:\n{Path(log).read_text()}")
            time.sleep(0.1)
    sys.exit(f"org_scale: nothing listens on port {port} (see {log})")


def spawn(args, log):
    return subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)


def operator(url):
    """A fresh moto account with an access key (moto picks the account from `x-moto-account-id`)."""
    account = f"{100_000_000_000 + secrets.randbelow(800_000_000_000):012}"
    iam = boto3.client("iam", endpoint_url=url, region_name=HOME,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    iam.meta.events.register("before-sign.iam.*",
                             lambda request, **_: request.headers.__setitem__("x-moto-account-id", account))
    iam.create_user(UserName="operator")
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    return account, key["AccessKeyId"], key["SecretAccessKey"]


def cli_env(state, endpoint):
    return {
        "PATH": os.environ["PATH"],
        "HOME": state["dir"],
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": state["key"],
        "AWS_SECRET_ACCESS_KEY": state["secret"],
        "AWS_REGION": HOME,
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_COLOR": "1",
        "LOGIN_ALERT_ENABLED_REGIONS": state["regions"],
    }


def run_cli(state, endpoint, bin_, *args, log):
    with open(log, "w") as out:
        return subprocess.run([str(Path(bin_).resolve()), *args], cwd=state["dir"], env=cli_env(state, endpoint),
                              stdout=out, stderr=subprocess.STDOUT).returncode


def seed(url, key, secret, accounts, units, depth):
    session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=HOME)
    orgs = session.client("organizations", endpoint_url=url)
    orgs.create_organization(FeatureSet="ALL")
    orgs.enable_aws_service_access(ServicePrincipal=STACKSETS)
    root = orgs.list_roots()["Roots"][0]["Id"]
    leaves = []
    for u in range(units):
        parent = root
        for level in range(depth):
            parent = orgs.create_organizational_unit(ParentId=parent, Name=f"unit-{u}-{level}")["OrganizationalUnit"]["Id"]
        leaves.append(parent)
    for n in range(accounts):
        created = orgs.create_account(AccountName=f"member-{n}", Email=f"member-{n}@example.com")
        member = created["CreateAccountStatus"]["AccountId"]
        if leaves:
            orgs.move_account(AccountId=member, SourceParentId=root, DestinationParentId=leaves[n % len(leaves)])
    account = session.client("sts", endpoint_url=url).get_caller_identity()["Account"]
    bucket = f"org-logs-{account}"
    session.client("s3", endpoint_url=url).create_bucket(Bucket=bucket)
    cloudtrail = session.client("cloudtrail", endpoint_url=url)
    cloudtrail.create_trail(Name="org-trail", S3BucketName=bucket, IsMultiRegionTrail=True, IsOrganizationTrail=True)
    cloudtrail.start_logging(Name="org-trail")


def start(args):
    d = Path(args.dir).resolve()
    d.mkdir(parents=True, exist_ok=True)
    if (d / "state.json").exists():
        sys.exit(f"org_scale: {d} is already started (org_scale.py stop {d} first)")
    moto_port, proxy_port = free_port(), free_port()
    moto = spawn([sys.executable, str(ROOT / "scripts/moto-fixed.py"), "-H", "127.0.0.1", "-p", str(moto_port)],
                 d / "moto.log")
    wait_for(moto_port, moto, d / "moto.log")
    proxy = spawn([sys.executable, str(HERE / "latency_proxy.py"), "--upstream", f"http://127.0.0.1:{moto_port}",
                   "--port", str(proxy_port), "--delay-ms", str(args.delay_ms)], d / "proxy.log")
    wait_for(proxy_port, proxy, d / "proxy.log")
    url = f"http://127.0.0.1:{moto_port}"
    state = {"dir": str(d), "moto_url": url, "proxy_url": f"http://127.0.0.1:{proxy_port}",
             "pids": [moto.pid, proxy.pid], "regions": args.regions,
             "accounts": args.accounts, "units": args.units, "depth": args.depth}
    (d / "state.json").write_text(json.dumps(state))
    account, key, secret = operator(url)
    state.update(account=account, key=key, secret=secret)
    (d / "state.json").write_text(json.dumps(state))
    began = time.monotonic()
    seed(url, key, secret, args.accounts, args.units, args.depth)
    print(f"org_scale: organization seeded in {time.monotonic() - began:.0f} s", file=sys.stderr)
    init = ["init", "--yes", "--trail", "org-trail", "--email", "secops@example.com",
            "--coverage", "organization", "--mode", "eventbridge"]
    if run_cli(state, url, args.bin, *init, log=d / "init.log") != 0:
        sys.exit(f"org_scale: init failed: see {d / 'init.log'}")
    began = time.monotonic()
    if run_cli(state, url, args.bin, "apply", "--yes", log=d / "apply.log") != 0:
        sys.exit(f"org_scale: apply failed: see {d / 'apply.log'}")
    print(f"org_scale: applied in {time.monotonic() - began:.0f} s", file=sys.stderr)
    code = run_cli(state, url, args.bin, "plan", "--detailed-exitcode", log=d / "plan.log")
    if code != 0:
        sys.exit(f"org_scale: the plan after apply is not a no-op (exit {code}): see {d / 'plan.log'}")
    print(f"org_scale: moto {url}, proxy {state['proxy_url']} (+{args.delay_ms} ms a request)", file=sys.stderr)


def load(dir_):
    path = Path(dir_).resolve() / "state.json"
    if not path.exists():
        sys.exit(f"org_scale: {dir_} is not started (org_scale.py start {dir_} BIN)")
    return json.loads(path.read_text())


def count(args):
    state = load(args.dir)
    proxy = state["proxy_url"]
    urllib.request.urlopen(f"{proxy}/__proxy/reset").read()
    began = time.monotonic()
    code = run_cli(state, proxy, args.bin, "plan", "--detailed-exitcode", log=Path(state["dir"]) / "count-plan.log")
    wall = time.monotonic() - began
    stats = json.loads(urllib.request.urlopen(f"{proxy}/__proxy/stats").read())
    # The same plan straight to moto: what the added latency cost is the round trips made in a row.
    began = time.monotonic()
    run_cli(state, state["moto_url"], args.bin, "plan", log=Path(state["dir"]) / "direct-plan.log")
    direct = time.monotonic() - began
    (Path(state["dir"]) / "calls.json").write_text(json.dumps(stats))
    ops = Counter(f"{c.get('service', '?')}:{c.get('operation', c['method'] + ' ' + c['path'][:40])}"
                  for c in stats["calls"])
    shape = f"{state['accounts']} accounts in {state['units']} units (depth {state['depth']}) × " \
            f"{len(state['regions'].split(','))} regions"
    print(f"plan ({shape}): exit {code}, {wall:.2f} s at +{stats['delay_ms']:g} ms a request; "
          f"{stats['requests']} requests, at most {stats['max_in_flight']} in flight, "
          f"longest chain {stats['longest_chain']} (by time: an upper bound); {direct:.2f} s straight to moto")
    for op, n in sorted(ops.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:5} {op}", flush=True)


def stop(args):
    state = load(args.dir)
    for pid in state["pids"]:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    (Path(state["dir"]) / "state.json").unlink()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("start")
    p.add_argument("dir")
    p.add_argument("bin")
    p.add_argument("--accounts", type=int, default=200)
    p.add_argument("--units", type=int, default=10)
    p.add_argument("--depth", type=int, default=1)
    p.add_argument("--regions", default="us-east-1,eu-west-1,ap-northeast-1,us-west-2")
    p.add_argument("--delay-ms", type=float, default=80.0)
    p = sub.add_parser("count")
    p.add_argument("dir")
    p.add_argument("bin")
    p = sub.add_parser("stop")
    p.add_argument("dir")
    args = parser.parse_args()
    {"start": start, "count": count, "stop": stop}[args.command](args)


if __name__ == "__main__":
    main()
