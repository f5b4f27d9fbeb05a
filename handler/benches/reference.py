#!/usr/bin/env python3
"""The Python baseline for the benchmark: a straightforward CloudWatch Logs -> Slack handler, as one would write it
in a Lambda. Base64 + gzip decode, json.loads of each message, the same classification and Slack fields as
`login-alert preview --output slack`, json.dumps of each payload, one per line on stdout.
Usage: reference.py EVENT.json [TIMEZONE]
"""
import base64
import gzip
import json
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

COLOURS = {"critical": "#D0021B", "warning": "#F5A623", "info": "#2EB67D"}


def parse_time(text):
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


def verdict(value):
    value = str(value or "").lower()
    return True if value == "success" else False if value in ("failure", "failed") else None


def classify(record):
    name = record.get("eventName") or ""
    identity = record.get("userIdentity") or {}
    user_type = identity.get("type") or ""
    response = record.get("responseElements") or {}
    details = record.get("serviceEventDetails") or {}
    success = verdict(response.get(name)) if isinstance(response, dict) else None
    if success is None and isinstance(details, dict):
        success = verdict(details.get(name))
    if success is None and (record.get("errorCode") or record.get("errorMessage")):
        success = False
    if success is None and record.get("eventType") == "AwsApiCall":
        success = True
    extra = record.get("additionalEventData") or {}
    mfa = {"yes": True, "no": False}.get(str(extra.get("MFAUsed", "")).lower())
    root = user_type == "Root"
    service = identity.get("invokedBy") not in (None, "signin.amazonaws.com")
    signin = record.get("eventSource") == "signin.amazonaws.com"
    if name == "ConsoleLogin":
        kind = "console-login-failure" if success is False else "console-login-success"
    elif name == "SwitchRole" and signin:
        kind = "switch-role"
    elif root and not service and record.get("eventType", "").lower() != "awsserviceevent":
        kind = "root-activity"
    elif signin:
        kind = "other-signin"
    else:
        kind = "ignore"
    arn = identity.get("arn") or ""
    if root:
        who = arn or f"arn:aws:iam::{record.get('recipientAccountId')}:root"
    elif user_type in ("AssumedRole", "FederatedUser"):
        who = arn.rsplit("/", 1)[-1] if "/" in arn else identity.get("userName")
    else:
        who = identity.get("userName") or identity.get("principalId")
    return kind, success, mfa, root, who or "unknown identity", user_type


def slack_payload(record, tz, account_name):
    kind, success, mfa, root, who, user_type = classify(record)
    if kind == "ignore":
        return None
    result = {True: "succeeded", False: "FAILED", None: "(result not recorded)"}[success]
    no_mfa = user_type in ("IAMUser", "Root") and mfa is False and success is not False
    subject = f"[{account_name or record.get('recipientAccountId')}] " + (
        f"Root console sign-in {result}" if root and kind.startswith("console") else f"{kind} {result}: {who}")
    when = parse_time(record.get("eventTime"))
    severity = "critical" if root else "warning" if success is False or no_mfa else "info"
    fields = [
        ("Result", result), ("Identity", who), ("User type", user_type or "unknown"),
        ("Account", record.get("recipientAccountId") or "not recorded"),
        ("Region", record.get("awsRegion") or "not recorded"),
        ("Source IP", record.get("sourceIPAddress") or "not recorded"),
        ("MFA", {True: "used", False: "NOT used" if no_mfa else "not used", None: "not recorded"}[mfa]),
        ("Time", when.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z") if when else "not recorded"),
        ("Time (UTC)", when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else "not recorded"),
        ("User agent", record.get("userAgent") or ""),
        ("Event", f"{record.get('eventName')} ({record.get('eventSource')})"),
        ("Event ID", record.get("eventID") or "not recorded"),
    ]
    region, event_id = record.get("awsRegion"), record.get("eventID")
    link = f"https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events/{event_id}"
    esc = lambda s: str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return {
        "text": esc(subject),
        "attachments": [{
            "color": COLOURS[severity], "fallback": esc(subject), "title": "Open in CloudTrail", "title_link": link,
            "fields": [{"title": t, "value": esc(v), "short": t not in ("User agent", "Identity")} for t, v in fields],
            "footer": "login-alert", "ts": int(when.timestamp()) if when else None,
        }],
    }


def main():
    event = json.load(open(sys.argv[1]))
    tz = ZoneInfo(sys.argv[2] if len(sys.argv) > 2 else "UTC")
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    out = []
    for log_event in data["logEvents"]:
        try:
            record = json.loads(log_event["message"])
        except (ValueError, TypeError):
            continue
        payload = slack_payload(record, tz, "prod")
        if payload is not None:
            out.append(json.dumps(payload))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
