#!/usr/bin/env python3
"""Writes the benchmark input: a CloudWatch Logs subscription event of N CloudTrail records (default 20,000).

The records are the published fixtures (tests/fixtures), cycled, each with its own eventID, time and source IP,
and an S3-console style `requestParameters`/`tlsDetails` so that a record is the size of a real one
(~1.1 KB); 20,000 of them are about 23 MB of JSON once decompressed.
Usage: make_payload.py OUT.json [N]
"""
import base64
import gzip
import json
import pathlib
import sys

here = pathlib.Path(__file__).resolve().parent
fixtures = sorted((here.parent / "tests" / "fixtures").glob("*.json"))
records = []
for path in fixtures:
    data = json.loads(path.read_text())
    records.extend(data.get("Records", [data]))

out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20000
events = []
for i in range(n):
    record = dict(records[i % len(records)])
    record["eventID"] = f"{i:08x}-0417-45c6-9386-ea8231385051"
    record["eventTime"] = f"2024-06-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}Z"
    record["sourceIPAddress"] = f"198.51.{(i >> 8) % 256}.{i % 256}"
    record["requestID"] = f"{i:08x}-8c69-11e9-bb3c-abc750f0b415"
    record["tlsDetails"] = {
        "tlsVersion": "TLSv1.3",
        "cipherSuite": "TLS_AES_128_GCM_SHA256",
        "clientProvidedHostHeader": "us-east-1.signin.aws.amazon.com",
    }
    events.append({"id": str(37189176243618586592345000000000 + i), "timestamp": 1717200000000 + i,
                   "message": json.dumps(record, separators=(",", ":"))})
logs = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "login-alert",
        "logStream": "123456789012_CloudTrail_us-east-1", "subscriptionFilters": ["login-alert"], "logEvents": events}
raw = json.dumps(logs, separators=(",", ":")).encode()
pathlib.Path(out).write_text(json.dumps({"awslogs": {"data": base64.b64encode(gzip.compress(raw)).decode()}}))
print(f"{out}: {n} records, {len(raw) / 1e6:.1f} MB decompressed", file=sys.stderr)
