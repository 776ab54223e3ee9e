#!/usr/bin/env python3
"""The baseline: the cleanup script an operator would write instead of running transferkeyd.

It lists every alias with the prefix, describes the key behind it, schedules the key for deletion
and deletes the alias, and repeats until a pass finds nothing left to do. Plain boto3 with its
default retry settings (legacy mode, which retries ThrottlingException with backoff). It keeps no
records: it cannot know whether an import is still running, which key an alias pointed at when the
import began, or that a key serves something else too. `bench/run_bench.py` runs it against the
same emulator and key set as transferkeyd and reports what it wrongly deletes.

usage: janitor.py --endpoint URL [--account ACCT] [--region REGION] [--prefix PREFIX]
Prints one JSON document: {"cleaned": [{"alias", "key"}], "errors": [...], "passes": N}.
"""
import argparse
import json
import sys

import boto3
from botocore.exceptions import ClientError


def kms_client(endpoint: str, account: str, region: str):
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    kms = session.client("kms", endpoint_url=endpoint, region_name=region)
    # The emulator (moto) picks the account from this header; against AWS the credentials decide.
    kms.meta.events.register(
        "before-sign.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account))
    return kms


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--account", default="123456789012")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--prefix", default="alias/CadoResponse-KMS-Alias")
    parser.add_argument("--pending-window-days", type=int, default=7)
    parser.add_argument("--max-passes", type=int, default=10)
    args = parser.parse_args()
    kms = kms_client(args.endpoint, args.account, args.region)

    cleaned, errors, passes = [], [], 0
    while passes < args.max_passes:
        passes += 1
        acted = 0
        aliases = []
        for page in kms.get_paginator("list_aliases").paginate():
            aliases += [a for a in page["Aliases"] if a["AliasName"].startswith(args.prefix)]
        for alias in aliases:
            key_id = alias.get("TargetKeyId")
            if not key_id:
                continue
            try:
                meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
                if meta.get("KeyManager") != "CUSTOMER":
                    continue  # never an AWS-managed key
                if meta["KeyState"] not in ("PendingDeletion", "PendingReplicaDeletion"):
                    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=args.pending_window_days)
                kms.delete_alias(AliasName=alias["AliasName"])
            except ClientError as error:
                errors.append({"alias": alias["AliasName"], "key": key_id, "error": str(error)})
                continue
            cleaned.append({"alias": alias["AliasName"], "key": key_id})
            acted += 1
        if acted == 0:
            break
    print(json.dumps({"cleaned": cleaned, "errors": errors, "passes": passes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
