#!/usr/bin/env python3
"""The Python baseline for the benchmark: the seeds' own logic, ported as it is. The CloudWatch Logs event is
decoded (base64, gzip, json.loads) as the Ruby handler of the first seed does, each message is parsed with json.loads,
and only sign-in records (eventSource signin.amazonaws.com) and root records (userIdentity.type Root) get the Slack
message of the third seed (its fields, JST time, title and colour), json.dumps'd one per line on stdout. Nothing more:
no grouping, no scopes, no escaping, no failure handling.
Usage: reference.py EVENT.json
"""
import base64
import gzip
import json
import sys
from datetime import datetime, timedelta


def slack_message(detail, account_id):
    event_time = detail.get("eventTime", "")
    event_name = detail.get("eventName", "N/A")
    source_ip = detail.get("sourceIPAddress", "N/A")
    user_agent = detail.get("userAgent", "N/A")
    aws_region = detail.get("awsRegion", "N/A")
    additional_event_data = detail.get("additionalEventData") or {}
    mfa_used = additional_event_data.get("MFAUsed") if isinstance(additional_event_data, dict) else None
    response_elements = detail.get("responseElements")
    console_login = None
    if response_elements and isinstance(response_elements, dict):
        console_login = response_elements.get("ConsoleLogin")
    if event_time:
        try:
            utc_time = datetime.fromisoformat(event_time.replace("Z", "+00:00"))
            formatted_time = (utc_time.replace(tzinfo=None) + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M:%S JST")
        except Exception:
            formatted_time = event_time
    else:
        formatted_time = "N/A"
    if event_name == "ConsoleLogin":
        if console_login == "Success":
            status_emoji, title, color = ":red_circle:", "AWSルートユーザーログイン検知", "danger"
        elif console_login == "Failure":
            status_emoji, title, color = ":warning:", "AWSルートユーザーログイン失敗", "warning"
        else:
            status_emoji, title, color = ":question:", "AWSルートユーザーログイン", "#808080"
    else:
        status_emoji, title, color = ":red_circle:", "AWSルートユーザーアクティビティ検知", "danger"
    mfa_emoji = ":white_check_mark:" if mfa_used == "Yes" else ":x:"
    mfa_text = "使用" if mfa_used == "Yes" else "未使用"
    fields = [
        {"title": "イベント名", "value": event_name, "short": True},
        {"title": "AWSアカウントID", "value": account_id, "short": True},
        {"title": "発生時刻", "value": formatted_time, "short": True},
        {"title": "ソースIP", "value": source_ip, "short": True},
        {"title": "リージョン", "value": aws_region, "short": True},
    ]
    if event_name == "ConsoleLogin" and mfa_used:
        fields.append({"title": f"MFA {mfa_emoji}", "value": mfa_text, "short": True})
    if event_name == "ConsoleLogin" and console_login:
        login_result = "成功" if console_login == "Success" else ("失敗" if console_login == "Failure" else console_login)
        fields.insert(0, {"title": "ログイン結果", "value": login_result, "short": True})
    fields.append({"title": "ユーザーエージェント", "value": user_agent, "short": False})
    return {
        "text": f"{status_emoji} *{title}*",
        "attachments": [{
            "color": color,
            "fields": fields,
            "footer": "AWS Root Activity Notification",
            "ts": int(datetime.now().timestamp()),
        }],
    }


def main():
    event = json.load(open(sys.argv[1]))
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    out = []
    for log in data["logEvents"]:
        record = json.loads(log["message"])
        identity = record.get("userIdentity") or {}
        if record.get("eventSource") == "signin.amazonaws.com" or identity.get("type") == "Root":
            out.append(json.dumps(slack_message(record, record.get("recipientAccountId", "N/A"))))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
