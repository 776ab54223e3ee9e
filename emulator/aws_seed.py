#!/usr/bin/env python3
"""Plays the import platform against the emulator: creates keys, aliases and snapshots, and
reads back what transferkeyd did. Used by the daemon tests and `make demo`.

usage: aws_seed.py --endpoint URL [--account ACCT] [--region REGION] COMMAND ...
  create-key [--alias NAME ...] [--multi-region]   prints the key id
  create-mark-key                                   an HMAC_256 GENERATE_VERIFY_MAC key: prints its ARN
  create-grant KEY PRINCIPAL                        a Decrypt grant on KEY for PRINCIPAL: prints the grant id
  grants KEY                                        prints the id of every live grant of KEY
  create-bucket NAME                                an S3 bucket (the ledger's replica)
  create-lease-table NAME                           a DynamoDB table keyed by `lease` (the writer lease)
  try-encrypt KEY                                   encrypts a byte with KEY: prints "ok" or AWS's error code
  create-keys COUNT --alias-prefix P                COUNT keys, key i with alias P-i: prints "key alias" lines
  create-replica KEY REGION [--alias NAME ...]      replicates a multi-Region key
  cancel-deletion KEY                               CancelKeyDeletion of KEY in --region (an operator outside transferkeyd)
  create-snapshot                                   prints a snapshot id
  key-state KEY                                     prints KeyState and DeletionDate (or "gone")
  key-states                                        prints "key KeyState" for every customer key in the region
  aliases                                           prints every non-AWS alias: name target
  key-tags KEY                                      prints the key's tags: key=value, one a line
  key-policy KEY                                    prints the key's default key policy (JSON)
  keys-tagged TAG VALUE                             prints the id of every key tagged TAG=VALUE
"""
import argparse
import sys

import boto3
import botocore.exceptions
from botocore.config import Config


def client(args, service, region=None):
    # Moto picks the account from this header; the credentials are dummies.
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    c = session.client(service, endpoint_url=args.endpoint, region_name=region or args.region,
                       config=Config(retries={"max_attempts": 1}))
    c.meta.events.register("before-sign.*.*", lambda request, **_: request.headers.__setitem__(
        "x-moto-account-id", args.account))
    return c


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--account", default="123456789012")
    parser.add_argument("--region", default="us-east-1")
    sub = parser.add_subparsers(dest="command", required=True)
    key = sub.add_parser("create-key")
    key.add_argument("--alias", action="append", default=[])
    key.add_argument("--multi-region", action="store_true")
    sub.add_parser("create-mark-key")
    grant = sub.add_parser("create-grant")
    grant.add_argument("key")
    grant.add_argument("principal")
    bucket = sub.add_parser("create-bucket")
    bucket.add_argument("name")
    lease_table = sub.add_parser("create-lease-table")
    lease_table.add_argument("name")
    try_encrypt = sub.add_parser("try-encrypt")
    try_encrypt.add_argument("key")
    grants = sub.add_parser("grants")
    grants.add_argument("key")
    keys = sub.add_parser("create-keys")
    keys.add_argument("count", type=int)
    keys.add_argument("--alias-prefix", required=True)
    cancel = sub.add_parser("cancel-deletion")
    cancel.add_argument("key")
    replica = sub.add_parser("create-replica")
    replica.add_argument("key")
    replica.add_argument("replica_region")
    replica.add_argument("--alias", action="append", default=[])
    alias = sub.add_parser("create-alias")
    alias.add_argument("alias")
    alias.add_argument("key")
    update = sub.add_parser("update-alias")
    update.add_argument("alias")
    update.add_argument("key")
    tag = sub.add_parser("tag-key")
    tag.add_argument("key")
    tag.add_argument("tag", help="KEY=VALUE")
    disable = sub.add_parser("disable-key")
    disable.add_argument("key")
    sub.add_parser("create-snapshot")
    state = sub.add_parser("key-state")
    state.add_argument("key")
    sub.add_parser("key-states")
    sub.add_parser("aliases")
    tags = sub.add_parser("key-tags")
    tags.add_argument("key")
    policy = sub.add_parser("key-policy")
    policy.add_argument("key")
    tagged = sub.add_parser("keys-tagged")
    tagged.add_argument("tag")
    tagged.add_argument("value")
    args = parser.parse_args()

    if args.command == "create-key":
        kms = client(args, "kms")
        key_id = kms.create_key(MultiRegion=args.multi_region)["KeyMetadata"]["KeyId"]
        for alias in args.alias:
            kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        print(key_id)
    elif args.command == "create-mark-key":
        kms = client(args, "kms")
        print(kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"])
    elif args.command == "create-bucket":
        client(args, "s3").create_bucket(Bucket=args.name)
        print(args.name)
    elif args.command == "create-lease-table":
        client(args, "dynamodb").create_table(
            TableName=args.name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "lease", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "lease", "AttributeType": "S"}])
        print(args.name)
    elif args.command == "try-encrypt":
        try:
            client(args, "kms").encrypt(KeyId=args.key, Plaintext=b"x")
            print("ok")
        except botocore.exceptions.ClientError as error:
            print(error.response["Error"]["Code"])
    elif args.command == "grants":
        kms = client(args, "kms")
        for grant in kms.list_grants(KeyId=args.key)["Grants"]:
            print(grant["GrantId"])
    elif args.command == "create-grant":
        kms = client(args, "kms")
        print(kms.create_grant(KeyId=args.key, GranteePrincipal=args.principal, Operations=["Decrypt"])["GrantId"])
    elif args.command == "create-keys":
        kms = client(args, "kms")
        for index in range(args.count):
            key_id = kms.create_key()["KeyMetadata"]["KeyId"]
            alias = f"{args.alias_prefix}-{index}"
            kms.create_alias(AliasName=alias, TargetKeyId=key_id)
            print(key_id, alias)
    elif args.command == "create-replica":
        kms = client(args, "kms")
        kms.replicate_key(KeyId=args.key, ReplicaRegion=args.replica_region)
        for alias in args.alias:
            client(args, "kms", args.replica_region).create_alias(AliasName=alias, TargetKeyId=args.key)
    elif args.command == "cancel-deletion":
        client(args, "kms").cancel_key_deletion(KeyId=args.key)
    elif args.command == "create-alias":
        client(args, "kms").create_alias(AliasName=args.alias, TargetKeyId=args.key)
    elif args.command == "update-alias":
        client(args, "kms").update_alias(AliasName=args.alias, TargetKeyId=args.key)
    elif args.command == "tag-key":
        name, _, value = args.tag.partition("=")
        client(args, "kms").tag_resource(KeyId=args.key, Tags=[{"TagKey": name, "TagValue": value}])
    elif args.command == "disable-key":
        client(args, "kms").disable_key(KeyId=args.key)
    elif args.command == "create-snapshot":
        ec2 = client(args, "ec2")
        volume = ec2.create_volume(Size=1, AvailabilityZone=args.region + "a")["VolumeId"]
        print(ec2.create_snapshot(VolumeId=volume)["SnapshotId"])
    elif args.command == "key-state":
        kms = client(args, "kms")
        try:
            meta = kms.describe_key(KeyId=args.key)["KeyMetadata"]
        except kms.exceptions.NotFoundException:
            print("gone")
            return
        print(meta["KeyState"], meta.get("DeletionDate", "-"))
    elif args.command == "key-states":
        kms = client(args, "kms")
        for page in kms.get_paginator("list_keys").paginate():
            for key in page["Keys"]:
                meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
                if meta.get("KeyManager") == "CUSTOMER":
                    print(meta["KeyId"], meta["KeyState"])
    elif args.command == "aliases":
        # Every page: another test may have the fault layer page ListAliases by 1 meanwhile.
        for page in client(args, "kms").get_paginator("list_aliases").paginate():
            for alias in page["Aliases"]:
                if not alias["AliasName"].startswith("alias/aws/"):
                    print(alias["AliasName"], alias.get("TargetKeyId", "-"))
    elif args.command == "key-tags":
        for tag in client(args, "kms").list_resource_tags(KeyId=args.key).get("Tags", []):
            print(f"{tag['TagKey']}={tag['TagValue']}")
    elif args.command == "key-policy":
        print(client(args, "kms").get_key_policy(KeyId=args.key, PolicyName="default")["Policy"])
    elif args.command == "keys-tagged":
        kms = client(args, "kms")
        for page in kms.get_paginator("list_keys").paginate():
            for key in page["Keys"]:
                tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
                if any(t["TagKey"] == args.tag and t["TagValue"] == args.value for t in tags):
                    print(key["KeyId"])


if __name__ == "__main__":
    sys.exit(main())
