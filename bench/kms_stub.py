#!/usr/bin/env python3
"""A loopback KMS for measuring transferkeyd's own CPU: it answers the calls a tracked transfer's cleanup makes
(DescribeKey, ListAliases, ListGrants, GetKeyLastUsage, ScheduleKeyDeletion, DeleteAlias, ListResourceTags, ListKeys)
from memory, over HTTP/1.1 keep-alive, as AWS does, so that neither moto's work nor a new TCP connection per call
(werkzeug closes each) is what the daemon's CPU figure measures. Not an emulator: no signature check, no errors
beyond NotFoundException, one account and region.

usage: kms_stub.py --port-file PATH [--port 0] [--keys N --alias-prefix P] [--latency-ms MS]   (prints nothing; serves until killed)
Seeded keys are printed to --keys-file as "key_id alias" lines.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ACCOUNT = "123456789012"
REGION = "us-east-1"
LOCK = threading.Lock()
KEYS: dict[str, dict] = {}
ALIASES: dict[str, dict] = {}
COUNTS: dict[str, int] = {}
LATENCY_S = 0.0


def arn(key_id: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"


def metadata(key: dict) -> dict:
    answer = {
        "AWSAccountId": ACCOUNT, "KeyId": key["id"], "Arn": arn(key["id"]), "CreationDate": key["created"],
        "Enabled": key["state"] == "Enabled", "Description": "", "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyState": key["state"], "Origin": "AWS_KMS", "KeyManager": "CUSTOMER", "MultiRegion": False,
        "KeySpec": "SYMMETRIC_DEFAULT", "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
    }
    if key.get("deletion"):
        answer["DeletionDate"] = key["deletion"]
        answer["PendingDeletionWindowInDays"] = 7
    return answer


def find(reference: str) -> dict | None:
    if reference.startswith("alias/"):
        alias = ALIASES.get(reference)
        return KEYS.get(alias["key"]) if alias else None
    return KEYS.get(reference.rsplit("/", 1)[-1])


def not_found(reference: str) -> tuple[int, dict]:
    return 400, {"__type": "NotFoundException", "message": f"Key '{reference}' does not exist"}


def handle(operation: str, body: dict) -> tuple[int, dict]:
    reference = str(body.get("KeyId", ""))
    with LOCK:
        COUNTS[operation] = COUNTS.get(operation, 0) + 1
        if operation == "ListAliases":
            target = find(reference) if reference else None
            if reference and target is None:
                return not_found(reference)
            aliases = [a for a in ALIASES.values() if target is None or a["key"] == target["id"]]
            return 200, {"Aliases": [{
                "AliasName": a["name"], "AliasArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:{a['name']}",
                "TargetKeyId": a["key"], "CreationDate": a["created"], "LastUpdatedDate": a["created"]}
                for a in aliases], "Truncated": False}
        if operation == "ListKeys":
            return 200, {"Keys": [{"KeyId": k, "KeyArn": arn(k)} for k in KEYS], "Truncated": False}
        key = find(reference)
        if operation == "DeleteAlias":
            name = str(body.get("AliasName", ""))
            if ALIASES.pop(name, None) is None:
                return 400, {"__type": "NotFoundException", "message": f"Alias {name} is not found."}
            return 200, {}
        if key is None:
            return not_found(reference)
        if operation == "DescribeKey":
            return 200, {"KeyMetadata": metadata(key)}
        if operation == "ListGrants":
            return 200, {"Grants": [], "Truncated": False}
        if operation == "ListResourceTags":
            return 200, {"Tags": [], "Truncated": False}
        if operation == "GetKeyLastUsage":
            return 200, {"KeyId": arn(key["id"]), "TrackingStartDate": key["created"], "KeyCreationDate": key["created"]}
        if operation == "ScheduleKeyDeletion":
            if key["state"] == "PendingDeletion":
                return 400, {"__type": "KMSInvalidStateException", "message": f"{arn(key['id'])} is pending deletion."}
            key["state"] = "PendingDeletion"
            key["deletion"] = time.time() + 7 * 86400
            return 200, {"KeyId": arn(key["id"]), "DeletionDate": key["deletion"], "KeyState": "PendingDeletion",
                         "PendingWindowInDays": 7}
    return 400, {"__type": "UnsupportedOperationException", "message": f"the stub does not answer {operation}"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS
    # Head and body in one write, and no Nagle delay: else every answer waits for a delayed ACK (~40 ms).
    wbufsize = -1
    disable_nagle_algorithm = True

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        if LATENCY_S:
            time.sleep(LATENCY_S)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        if self.path.startswith("/_stub/counts"):
            status, answer = 200, dict(COUNTS)
        else:
            status, answer = handle(target.rsplit(".", 1)[-1], json.loads(raw or b"{}"))
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def log_message(self, *_: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--keys", type=int, default=0)
    parser.add_argument("--alias-prefix", default="alias/CadoResponse-KMS-Alias-stub")
    parser.add_argument("--keys-file")
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args()
    global LATENCY_S
    LATENCY_S = args.latency_ms / 1000
    created = time.time() - 3600
    lines = []
    for index in range(args.keys):
        key_id = str(uuid.uuid4())
        name = f"{args.alias_prefix}-{index}"
        KEYS[key_id] = {"id": key_id, "created": created, "state": "Enabled"}
        ALIASES[name] = {"name": name, "key": key_id, "created": created}
        lines.append(f"{key_id} {name}")
    if args.keys_file:
        Path(args.keys_file).write_text("\n".join(lines) + "\n")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    Path(args.port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
