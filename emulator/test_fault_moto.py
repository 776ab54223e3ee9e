"""Checks fault_moto.py with real boto3 calls against a real server subprocess.

Run: python3 -m pytest -q emulator/test_fault_moto.py   (about 15 s)
"""

from __future__ import annotations

import email.utils
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

SCRIPT = Path(__file__).with_name("fault_moto.py")
REGION = "us-east-1"


class Server:
    """A fault_moto.py child process on a free port."""

    def __init__(self, extra_env: dict[str, str] | None = None, preexec_fn: Any = None) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="fault-moto-test-")
        port_file = os.path.join(self.folder.name, "port")
        self.stderr = open(os.path.join(self.folder.name, "stderr.log"), "wb")
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--port", "0", "--port-file", port_file,
             "--parent-pid", str(os.getpid()), "--quiet"],
            env={**os.environ, **(extra_env or {})},
            stderr=self.stderr,
            preexec_fn=preexec_fn,
        )
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(Path(self.stderr.name).read_text()[-2000:])
            time.sleep(0.05)
        self.port = int(Path(port_file).read_text())
        self.url = f"http://127.0.0.1:{self.port}"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def client(self, service: str, attempts: int = 1, region: str = REGION, **credentials: str) -> Any:
        credentials = credentials or {"aws_access_key_id": "AKIDTESTING", "aws_secret_access_key": "secret"}
        return boto3.client(
            service, region_name=region, endpoint_url=self.url,
            config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
            **credentials,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.stderr.close()
        self.folder.cleanup()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    instance = Server()
    yield instance
    instance.stop()


@pytest.fixture(autouse=True)
def clean(server: Server) -> None:
    server.control("POST", "/_fault/reset", {})


def error_code(error: botocore.exceptions.ClientError) -> str:
    return error.response["Error"]["Code"]


def test_moto_api_stays_reachable_and_port_file_is_complete(server: Server) -> None:
    with urllib.request.urlopen(server.url + "/moto-api/", timeout=10) as response:
        assert response.status == 200


def test_kms_answers_carry_a_request_id_like_aws(server: Server) -> None:
    kms = server.client("kms")
    first = kms.create_key()["ResponseMetadata"]
    second = kms.list_aliases()["ResponseMetadata"]
    ids = [first["HTTPHeaders"].get("x-amzn-requestid"), second["HTTPHeaders"].get("x-amzn-requestid")]
    assert all(ids) and ids[0] != ids[1], ids


def test_control_api_rejects_bad_input(server: Server) -> None:
    for body in ({"action": "explode"}, {"action": "error"}, {"action": "error", "code": "X", "count": -1},
                 {"action": "latency", "colour": "red"}):
        with pytest.raises(urllib.error.HTTPError) as raised:
            server.control("POST", "/_fault/rules", body)
        assert raised.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as raised:
        server.control("GET", "/_fault/nothing")
    assert raised.value.code == 404


def test_throttling_twice_is_retried_by_boto3(server: Server) -> None:
    kms = server.client("kms", attempts=5)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    rule = server.control("POST", "/_fault/rules", {
        "operation": "ScheduleKeyDeletion", "service": "kms", "action": "error",
        "status": 400, "code": "ThrottlingException", "message": "Rate exceeded", "count": 2,
    })
    answer = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert answer["KeyId"].endswith(key_id)
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2

    counts = server.control("GET", "/_fault/counts")
    assert counts["kms.ScheduleKeyDeletion"] == 3
    assert counts["faulted"] == {"kms.ScheduleKeyDeletion": 2}
    log = [e for e in server.control("GET", "/_fault/log") if e["operation"] == "ScheduleKeyDeletion"]
    assert [(e["status"], e["fault"]) for e in log] == [(400, rule["id"]), (400, rule["id"]), (200, None)]
    assert log[0]["service"] == "kms" and log[0]["region"] == REGION and log[0]["account"] == "123456789012"
    # The key each call named, and when it was answered (benchmarks match calls to transfers with these).
    assert [e["key_id"] for e in log] == [key_id] * 3
    assert all(e["done"] >= e["t"] for e in log)


def test_log_names_the_kms_key_and_alias(server: Server) -> None:
    kms = server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/logged", TargetKeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    kms.delete_alias(AliasName="alias/logged")
    log = {e["operation"]: e for e in server.control("GET", "/_fault/log")}
    assert log["ScheduleKeyDeletion"]["key_id"] == key_id
    assert log["DeleteAlias"]["alias_name"] == "alias/logged"
    assert log["CreateAlias"]["alias_name"] == "alias/logged"
    assert "key_id" not in log["CreateKey"]


def test_error_shapes_per_protocol(server: Server) -> None:
    for service, operation in (("kms", "ListKeys"), ("ec2", "DescribeSnapshots"), ("sts", "GetCallerIdentity")):
        server.control("POST", "/_fault/rules", {
            "operation": operation, "action": "error", "status": 400,
            "code": "AccessDeniedException", "message": "no <way>", "count": 1,
        })
    with pytest.raises(botocore.exceptions.ClientError) as kms_error:
        server.client("kms").list_keys()
    with pytest.raises(botocore.exceptions.ClientError) as ec2_error:
        server.client("ec2").describe_snapshots(OwnerIds=["self"])
    with pytest.raises(botocore.exceptions.ClientError) as sts_error:
        server.client("sts").get_caller_identity()
    for raised in (kms_error, ec2_error, sts_error):
        assert error_code(raised.value) == "AccessDeniedException"
        assert raised.value.response["Error"]["Message"] == "no <way>"
        assert raised.value.response["ResponseMetadata"]["RequestId"]
    assert kms_error.value.response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.1"
    # The rules fired once each: the next calls reach moto.
    assert server.client("sts").get_caller_identity()["Account"] == "123456789012"


def test_html_error_page_and_connection_reset(server: Server) -> None:
    html = server.control("POST", "/_fault/rules", {"operation": "ListKeys", "action": "error", "status": 500, "code": "html", "count": 1})
    reset = server.control("POST", "/_fault/rules", {"operation": "ListKeys", "action": "reset", "count": 1})
    request = urllib.request.Request(server.url + "/", data=b"{}", method="POST", headers={
        "X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/kms/aws4_request, Signature=0",
    })
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 500
    assert raised.value.headers["Content-Type"] == "text/html"
    assert b"<html>" in raised.value.read()
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        server.client("kms").list_keys()
    assert server.client("kms").list_keys()["Keys"] == []
    faults = [e["fault"] for e in server.control("GET", "/_fault/log")]
    assert faults == [html["id"], reset["id"], None]


def test_after_and_count_and_filters(server: Server) -> None:
    server.control("POST", "/_fault/rules", {
        "operation": "GetCallerIdentity", "action": "error", "code": "Boom", "after": 1, "count": 1,
    })
    server.control("POST", "/_fault/rules", {"operation": "ListKeys", "region": "eu-west-1", "action": "error", "code": "Boom"})
    sts = server.client("sts")
    sts.get_caller_identity()
    with pytest.raises(botocore.exceptions.ClientError):
        sts.get_caller_identity()
    sts.get_caller_identity()
    server.client("kms").list_keys()  # us-east-1: not matched
    with pytest.raises(botocore.exceptions.ClientError):
        server.client("kms", region="eu-west-1").list_keys()

    # Account from x-moto-account-id, as moto itself reads it.
    server.control("POST", "/_fault/rules", {"operation": "ListAliases", "account": "111111111111", "action": "error", "code": "Boom"})
    kms = server.client("kms")
    kms.list_aliases()
    kms.meta.events.register("before-sign.kms.*", lambda request, **_: request.headers.add_header("x-moto-account-id", "111111111111"))
    with pytest.raises(botocore.exceptions.ClientError):
        kms.list_aliases()
    assert server.control("GET", "/_fault/log")[-1]["account"] == "111111111111"


def test_latency(server: Server) -> None:
    server.control("POST", "/_fault/rules", {"operation": "GetCallerIdentity", "action": "latency", "delay_ms": 400, "count": 1})
    sts = server.client("sts")
    started = time.monotonic()
    sts.get_caller_identity()
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    sts.get_caller_identity()
    assert time.monotonic() - started < 0.4


def test_latency_for_every_operation_and_for_ever(server: Server) -> None:
    rule = server.control("POST", "/_fault/rules", {"operation": "*", "action": "latency", "delay_ms": 150})["id"]
    kms, sts = server.client("kms"), server.client("sts")
    for call in (kms.list_keys, kms.list_aliases, sts.get_caller_identity, kms.list_keys):
        started = time.monotonic()
        call()
        assert time.monotonic() - started >= 0.15
    assert [entry["fault"] for entry in server.control("GET", "/_fault/log")] == [rule] * 4


def test_private_keys_are_made_only_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto.kms.models as kms_models

    sys.path.insert(0, str(SCRIPT.parent))
    import fault_moto

    # Restored after the test: this process's moto is patched only for it.
    monkeypatch.setattr(kms_models, "generate_private_key", kms_models.generate_private_key)
    fault_moto.defer_private_keys()
    backend = kms_models.kms_backends["123456789012"]["eu-north-1"]
    key = backend.create_key(None, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "lazy", None)
    assert key.private_key.made is None
    assert key.private_key.public_key() is not None
    assert key.private_key.made is not None


def test_asymmetric_keys_still_sign_and_verify(server: Server) -> None:
    kms = server.client("kms")
    key_id = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
    signature = kms.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    assert kms.verify(KeyId=key_id, Message=b"m", Signature=signature,
                      SigningAlgorithm="RSASSA_PSS_SHA_256")["SignatureValid"]
    assert kms.get_public_key(KeyId=key_id)["PublicKey"]


def test_throttle_rate_is_a_token_bucket_per_account_region_operation(server: Server) -> None:
    server.control("POST", "/_fault/rules", {"operation": "ListKeys", "action": "throttle_rate", "rate_per_second": 2, "burst": 3})
    kms = server.client("kms")
    outcomes = []
    for _ in range(6):
        try:
            kms.list_keys()
            outcomes.append("ok")
        except botocore.exceptions.ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            outcomes.append(error_code(error))
    assert outcomes[:3] == ["ok"] * 3
    assert outcomes.count("ThrottlingException") >= 2
    server.client("kms", region="eu-west-1").list_keys()  # its own bucket
    time.sleep(0.6)
    kms.list_keys()  # refilled


def test_list_aliases_paging_and_creation_dates(server: Server) -> None:
    kms = server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    before = time.time()
    for index in range(250):
        kms.create_alias(AliasName=f"alias/CadoResponse-KMS-Alias-{index:03}", TargetKeyId=key_id)
    everything = kms.list_aliases()  # paging off: moto's quirk (all at once) is kept
    assert "NextMarker" not in everything and len(everything["Aliases"]) > 250

    server.control("POST", "/_fault/paging", {"ListAliases": 100})
    pages, marker = [], None
    while True:
        page = kms.list_aliases(**({"Marker": marker} if marker else {}))
        pages.append(page["Aliases"])
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert [len(p) for p in pages][:2] == [100, 100] and len(pages) == 3
    names = [alias["AliasName"] for page in pages for alias in page]
    assert names == [alias["AliasName"] for alias in everything["Aliases"]]

    assert len(kms.list_aliases(Limit=7)["Aliases"]) == 7
    assert sum(len(p["Aliases"]) for p in kms.get_paginator("list_aliases").paginate()) == len(names)
    mine = [a for page in pages for a in page if a["AliasName"].startswith("alias/CadoResponse")]
    assert all(before - 1 <= a["CreationDate"].timestamp() <= time.time() + 1 for a in mine)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        kms.list_aliases(Marker="not-ours")
    assert error_code(raised.value) == "InvalidMarkerException"

    server.control("POST", "/_fault/alias-dates", {"alias/CadoResponse-KMS-Alias-007": 1_600_000_000})
    dated = kms.list_aliases(KeyId=key_id, Limit=100)["Aliases"]
    by_name = {a["AliasName"]: a["CreationDate"].timestamp() for a in dated}
    assert by_name["alias/CadoResponse-KMS-Alias-007"] == 1_600_000_000


def test_snapshot_state_overrides(server: Server) -> None:
    ec2 = server.client("ec2")
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    ids = [ec2.create_snapshot(VolumeId=volume)["SnapshotId"] for _ in range(3)]
    ec2.create_tags(Resources=[ids[0]], Tags=[{"Key": "Name", "Value": "tagged"}])
    server.control("POST", "/_fault/snapshots", {ids[0]: "pending", ids[1]: {"state": "error", "progress": "12%"}})

    snapshots = {s["SnapshotId"]: s for s in ec2.describe_snapshots(SnapshotIds=ids)["Snapshots"]}
    assert (snapshots[ids[0]]["State"], snapshots[ids[0]]["Progress"]) == ("pending", "0%")
    assert snapshots[ids[0]]["Tags"] == [{"Key": "Name", "Value": "tagged"}]
    assert (snapshots[ids[1]]["State"], snapshots[ids[1]]["Progress"]) == ("error", "12%")
    assert snapshots[ids[2]]["State"] == "completed"

    server.control("DELETE", "/_fault/snapshots")
    assert {s["State"] for s in ec2.describe_snapshots(SnapshotIds=ids)["Snapshots"]} == {"completed"}


def test_ec2_dry_run_answers_like_aws(server: Server) -> None:
    ec2 = server.client("ec2")
    with pytest.raises(botocore.exceptions.ClientError) as allowed:
        ec2.describe_snapshots(DryRun=True, MaxResults=5)
    assert error_code(allowed.value) == "DryRunOperation"
    assert allowed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    # A denied permission is a fault rule; it wins over the dry-run answer.
    server.control("POST", "/_fault/rules", {
        "operation": "DescribeSnapshots", "action": "error", "status": 403, "code": "UnauthorizedOperation",
        "count": 1,
    })
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        ec2.describe_snapshots(DryRun=True, MaxResults=5)
    assert error_code(denied.value) == "UnauthorizedOperation"
    # Without DryRun moto answers as before.
    assert "Snapshots" in ec2.describe_snapshots(OwnerIds=["self"])


def test_reset_clears_layer_and_moto(server: Server) -> None:
    kms = server.client("kms")
    kms.create_key()
    server.control("POST", "/_fault/rules", {"operation": "Nothing", "action": "latency"})
    server.control("POST", "/_fault/paging", {"ListAliases": 5})
    server.control("POST", "/_fault/reset", {})
    assert server.control("GET", "/_fault/rules") == []
    assert server.control("GET", "/_fault/paging") == {}
    assert server.control("GET", "/_fault/log") == []
    assert server.control("GET", "/_fault/counts") == {"faulted": {}, "in_flight": {}}
    assert kms.list_keys()["Keys"] == []


def test_clock_offset_shows_in_date_and_refuses_skewed_signatures(server: Server) -> None:
    server.control("POST", "/_fault/clock", {"offset_seconds": 3600})
    kms = server.client("kms")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        kms.list_keys()
    assert error_code(raised.value) == "InvalidSignatureException"
    served = email.utils.parsedate_to_datetime(raised.value.response["ResponseMetadata"]["HTTPHeaders"]["date"])
    assert abs(served.timestamp() - (time.time() + 3600)) < 60
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        server.client("sts").get_caller_identity()
    assert error_code(raised.value) == "SignatureDoesNotMatch"
    server.control("POST", "/_fault/clock", {"offset_seconds": 60})
    assert "Keys" in kms.list_keys()
    with pytest.raises(urllib.error.HTTPError):
        server.control("POST", "/_fault/clock", {"offset_seconds": "soon"})
    server.control("DELETE", "/_fault/clock")
    assert "Keys" in kms.list_keys()


def test_signature_mode_passes_through_untouched() -> None:
    auth_server = Server({"INITIAL_NO_AUTH_ACTION_COUNT": "3"})
    try:
        iam = auth_server.client("iam")
        iam.create_user(UserName="daemon")
        iam.put_user_policy(UserName="daemon", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }))
        key = iam.create_access_key(UserName="daemon")["AccessKey"]
        good = auth_server.client("kms", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
        assert good.create_key()["KeyMetadata"]["KeyId"]
        bad = auth_server.client("kms", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key="wrong")
        bodies: list[bytes] = []
        bad.meta.events.register("after-call.kms.ListKeys", lambda http_response, **_: bodies.append(http_response.content))
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            bad.list_keys()
        # moto's quirk, kept: auth errors are XML even from KMS, so boto3 only sees the status.
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert b"<Code>SignatureDoesNotMatch</Code>" in bodies[0]
        # The layer attributes the IAM user's key to its account, as moto does.
        assert auth_server.control("GET", "/_fault/log")[-1]["account"] == "123456789012"
    finally:
        auth_server.stop()


def test_exits_when_parent_is_gone(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    parent = subprocess.Popen([
        "sh", "-c", f'"{sys.executable}" "{SCRIPT}" --port 0 --port-file "{port_file}" --parent-pid $$ --quiet '
        f'& echo $! > "{tmp_path}/child"; while [ ! -s "{port_file}" ]; do sleep 0.05; done',
    ])
    assert parent.wait(timeout=20) == 0
    child = int((tmp_path / "child").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child, 9)
    pytest.fail("the server outlived its parent")


def test_sigterm_stops_it_even_when_spawned_with_sigterm_blocked() -> None:
    # Foundation.Process on Linux hands its children a mask that blocks SIGTERM.
    blocked = Server(preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM}))
    started = time.monotonic()
    blocked.process.terminate()
    assert blocked.process.wait(timeout=5) == 0
    assert time.monotonic() - started < 2
    blocked.stop()


def test_schedule_key_deletion_of_a_pending_key_is_refused_like_aws(server: Server) -> None:
    kms = server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    first = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)["DeletionDate"]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)
    assert caught.value.response["Error"]["Code"] == "KMSInvalidStateException"
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion"
    assert metadata["DeletionDate"] == first, "the first deletion date stays"


def test_cancel_key_deletion_of_a_key_not_pending_is_refused_like_aws(server: Server) -> None:
    kms = server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=key_id)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        kms.cancel_key_deletion(KeyId=key_id)
    assert caught.value.response["Error"]["Code"] == "KMSInvalidStateException"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


def test_late_answer_acts_at_once_and_answers_after_the_delay(server: Server) -> None:
    kms = server.client("kms")
    kms.create_key()  # moto's first CreateKey loads lazily: warm it up
    server.control("POST", "/_fault/rules", {"operation": "CreateKey", "action": "late_answer", "delay_ms": 3000, "count": 1})
    before = len(kms.list_keys()["Keys"])
    impatient = boto3.client(
        "kms", region_name=REGION, endpoint_url=server.url,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=1),
        aws_access_key_id="AKIDTESTING", aws_secret_access_key="secret",
    )
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        impatient.create_key()
    assert len(kms.list_keys()["Keys"]) == before + 1, "the key exists although the caller never heard so"
    started = time.monotonic()
    kms.create_key()
    assert time.monotonic() - started < 2.0, "count 1: the next call answers at once"


def test_outage_refuses_connections_then_listens_again_with_state_kept() -> None:
    instance = Server()
    try:
        kms = instance.client("kms")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        assert instance.control("POST", "/_fault/outage", {"seconds": 2}) == {"seconds": 2}
        deadline = time.monotonic() + 5
        refused = False
        while time.monotonic() < deadline and not refused:
            try:
                socket.create_connection(("127.0.0.1", instance.port), timeout=1).close()
                time.sleep(0.05)
            except ConnectionRefusedError:
                refused = True
            except ConnectionResetError:
                pass  # queued while the listener closed
        assert refused, "the port still accepted connections"
        with pytest.raises(botocore.exceptions.EndpointConnectionError):
            kms.describe_key(KeyId=key_id)
        deadline = time.monotonic() + 20
        while True:
            try:
                state = kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
                break
            except botocore.exceptions.EndpointConnectionError:
                assert time.monotonic() < deadline, "the port did not open again"
                time.sleep(0.1)
        assert state == "Enabled", "moto's state outlived the outage"
        with pytest.raises(urllib.error.HTTPError):
            instance.control("POST", "/_fault/outage", {"seconds": 0})
    finally:
        instance.stop()


def test_update_alias_moves_last_updated_date_but_not_creation_date(server: Server) -> None:
    kms = server.client("kms")
    first = kms.create_key()["KeyMetadata"]["KeyId"]
    second = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/CadoResponse-KMS-Alias-moved", TargetKeyId=first)
    server.control("POST", "/_fault/alias-dates", {"alias/CadoResponse-KMS-Alias-moved": 1_600_000_000})
    time.sleep(0.05)
    before = time.time()
    kms.update_alias(AliasName="alias/CadoResponse-KMS-Alias-moved", TargetKeyId=second)
    alias = next(a for a in kms.list_aliases(KeyId=second)["Aliases"]
                 if a["AliasName"] == "alias/CadoResponse-KMS-Alias-moved")
    assert alias["CreationDate"].timestamp() == 1_600_000_000
    assert alias["LastUpdatedDate"].timestamp() >= before - 1
    server.control("POST", "/_fault/alias-dates",
                   {"alias/CadoResponse-KMS-Alias-moved": {"created": 1_600_000_000, "updated": 1_650_000_000}})
    alias = kms.list_aliases(KeyId=second)["Aliases"][0]
    assert alias["LastUpdatedDate"].timestamp() == 1_650_000_000


def test_key_control_backdates_and_changes_state_origin_and_store(server: Server) -> None:
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    answer = server.control("POST", "/_fault/keys", {
        "key_id": key, "account": "123456789012", "region": REGION, "creation_date": 1_500_000_000,
        "state": "Unavailable", "origin": "EXTERNAL_KEY_STORE", "custom_key_store_id": "cks-1234567890abcdef0"})
    assert answer["state"] == "Unavailable"
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyUsage"] == "ENCRYPT_DECRYPT", "AWS's default, which moto leaves out"
    assert meta["CreationDate"].timestamp() == 1_500_000_000
    assert meta["KeyState"] == "Unavailable" and meta["Origin"] == "EXTERNAL_KEY_STORE"
    assert meta["CustomKeyStoreId"] == "cks-1234567890abcdef0"
    with pytest.raises(urllib.error.HTTPError) as error:
        server.control("POST", "/_fault/keys", {"key_id": "nope", "account": "123456789012", "region": REGION})
    assert error.value.code == 400
    # key_lead dates an alias's key just before the alias, as a real transfer key is.
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/CadoResponse-KMS-Alias-lead", TargetKeyId=other)
    server.control("POST", "/_fault/alias-dates",
                   {"alias/CadoResponse-KMS-Alias-lead": {"created": 1_700_000_000, "key_lead": 60}})
    assert kms.describe_key(KeyId=other)["KeyMetadata"]["CreationDate"].timestamp() == 1_700_000_000 - 60


def test_schedule_key_deletion_while_creating_or_updating_is_refused_like_aws(server: Server) -> None:
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for state in ("Creating", "Updating"):
        server.control("POST", "/_fault/keys", {"key_id": key, "account": "123456789012", "region": REGION,
                                                "state": state})
        with pytest.raises(botocore.exceptions.ClientError) as error:
            kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        assert error.value.response["Error"]["Code"] == "KMSInvalidStateException"
    server.control("POST", "/_fault/keys", {"key_id": key, "account": "123456789012", "region": REGION,
                                            "state": "Enabled"})
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_in_flight_counts_show_a_call_still_being_answered(server: Server) -> None:
    import threading

    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    server.control("POST", "/_fault/rules", {"operation": "DescribeKey", "action": "latency", "delay_ms": 1500,
                                             "count": 1})
    thread = threading.Thread(target=lambda: kms.describe_key(KeyId=key))
    thread.start()
    deadline = time.monotonic() + 5
    seen = 0
    while time.monotonic() < deadline and not seen:
        seen = server.control("GET", "/_fault/counts")["in_flight"].get("kms.DescribeKey", 0)
        time.sleep(0.05)
    thread.join()
    assert seen == 1
    assert server.control("GET", "/_fault/counts")["in_flight"].get("kms.DescribeKey", 0) == 0
    server.control("DELETE", "/_fault/rules")


def test_aws_dates_follow_the_offset_clock(server: Server) -> None:
    """A key and an alias made while AWS's clock is ahead carry dates on that clock, as AWS's would."""
    server.control("POST", "/_fault/clock", {"offset_seconds": 240})
    kms = server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/CadoResponse-KMS-Alias-clock", TargetKeyId=key_id)
    created = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CreationDate"].timestamp()
    alias = next(a for a in kms.list_aliases(KeyId=key_id)["Aliases"] if a["AliasName"].endswith("-clock"))
    assert abs(created - (time.time() + 240)) < 30
    assert abs(alias["CreationDate"].timestamp() - (time.time() + 240)) < 30
    server.control("DELETE", "/_fault/clock")
    # The key keeps the date it was made with.
    assert abs(kms.describe_key(KeyId=key_id)["KeyMetadata"]["CreationDate"].timestamp() - created) < 1


def test_hmac_marks_generate_and_verify(server: Server) -> None:
    """GenerateMac / VerifyMac on an HMAC key, through the layer: the ownership mark's calls."""
    kms = server.client("kms")
    arn = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"]
    mac = kms.generate_mac(KeyId=arn, Message=b"transferkeyd-mark-v1", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert kms.verify_mac(KeyId=arn, Message=b"transferkeyd-mark-v1", MacAlgorithm="HMAC_SHA_256", Mac=mac)["MacValid"]
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        kms.verify_mac(KeyId=arn, Message=b"another key's ARN", MacAlgorithm="HMAC_SHA_256", Mac=mac)
    assert error_code(raised.value) == "KMSInvalidMacException"


def test_get_key_last_usage_reports_the_last_cryptographic_call(server: Server) -> None:
    """GetKeyLastUsage (which moto lacks) in KMS's shape: the last successful cryptographic call on the key."""
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    unused = kms.get_key_last_usage(KeyId=key["KeyId"])
    assert "KeyLastUsage" not in unused
    assert abs(unused["TrackingStartDate"].timestamp() - key["CreationDate"].timestamp()) < 1
    kms.create_alias(AliasName="alias/usage-probe", TargetKeyId=key["KeyId"])
    blob = kms.encrypt(KeyId="alias/usage-probe", Plaintext=b"x")["CiphertextBlob"]
    assert kms.get_key_last_usage(KeyId=key["Arn"])["KeyLastUsage"]["Operation"] == "Encrypt"
    answered = kms.decrypt(CiphertextBlob=blob)
    usage = kms.get_key_last_usage(KeyId=key["KeyId"])["KeyLastUsage"]
    assert usage["Operation"] == "Decrypt"
    assert usage["KmsRequestId"] == answered["ResponseMetadata"]["RequestId"]
    assert usage["CloudTrailEventId"]
    # A use AWS recorded earlier, injected by a test.
    server.control("POST", "/_fault/key-usage", {"key_id": key["KeyId"], "operation": "GenerateDataKey",
                                                  "timestamp": time.time() - 3600})
    usage = kms.get_key_last_usage(KeyId=key["KeyId"])["KeyLastUsage"]
    assert usage["Operation"] == "GenerateDataKey" and abs(usage["Timestamp"].timestamp() - (time.time() - 3600)) < 5
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        kms.get_key_last_usage(KeyId="00000000-0000-4000-8000-000000000000")
    assert error_code(raised.value) == "NotFoundException"


def test_grants_list_and_retire(server: Server) -> None:
    """ListGrants and RetireGrant pass through to moto: the grants the usage rules read."""
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    grant = kms.create_grant(KeyId=key, GranteePrincipal="arn:aws:iam::444455556666:role/Other",
                             Operations=["Decrypt"])
    grants = kms.list_grants(KeyId=key)["Grants"]
    assert [g["GrantId"] for g in grants] == [grant["GrantId"]]
    assert grants[0]["GranteePrincipal"] == "arn:aws:iam::444455556666:role/Other"
    # AWS dates each grant (moto does not): the time it was made, by the emulated clock.
    made = grants[0]["CreationDate"].timestamp()
    assert abs(made - time.time()) < 60, made
    kms.retire_grant(KeyId=key, GrantId=grant["GrantId"])
    assert kms.list_grants(KeyId=key)["Grants"] == []


def test_cloudtrail_lookup_events_records_kms_calls_and_failures(server: Server) -> None:
    """LookupEvents (which moto lacks) in CloudTrail's shape: KMS calls on a key, newest first, with the caller and
    the error of a failed call (a use of a key pending deletion), paged; tests can inject events."""
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    with pytest.raises(botocore.exceptions.ClientError):
        kms.decrypt(CiphertextBlob=blob, KeyId=key["KeyId"])
    trail = server.client("cloudtrail")
    events = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": key["Arn"]}])["Events"]
    names = [e["EventName"] for e in events]
    assert names[:3] == ["Decrypt", "ScheduleKeyDeletion", "Encrypt"], names
    failed = json.loads(events[0]["CloudTrailEvent"])
    assert failed["errorCode"] == "KMSInvalidStateException", failed
    assert failed["userIdentity"]["arn"].startswith("arn:aws:iam::")
    # Injected (backdated), and paged 50 at a time.
    for index in range(60):
        server.control("POST", "/_fault/cloudtrail-events", {
            "account": "123456789012", "region": "us-east-1", "key_id": key["KeyId"], "event_name": "Decrypt",
            "principal": "arn:aws:iam::444455556666:role/Other", "timestamp": time.time() - 10 - index})
    first = trail.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": key["Arn"]}])
    assert len(first["Events"]) == 50 and "NextToken" in first
    rest = trail.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": key["Arn"]}],
                               NextToken=first["NextToken"])
    assert len(first["Events"]) + len(rest["Events"]) == len(names) + 60
    recent = trail.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": key["Arn"]}],
                                 StartTime=time.time() - 5)["Events"]
    assert [e["EventName"] for e in recent] == names


def test_a_disabled_key_refuses_cryptographic_calls_like_aws(server: Server) -> None:
    """moto encrypts with a disabled key; AWS answers DisabledException, and CloudTrail records the refusal."""
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert error_code(raised.value) == "DisabledException"
    events = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": key["Arn"]}])["Events"]
    assert json.loads(events[0]["CloudTrailEvent"])["errorCode"] == "DisabledException"
    kms.enable_key(KeyId=key["KeyId"])
    kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")


def test_list_grants_of_an_unknown_key_is_not_found_like_aws(server: Server) -> None:
    """moto answers 500; AWS answers NotFoundException (what `check` relies on to probe the permission)."""
    unknown = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000"
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        server.client("kms").list_grants(KeyId=unknown)
    assert error_code(raised.value) == "NotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        server.client("kms").retire_grant(KeyId=unknown, GrantId="0" * 64)
    assert error_code(raised.value) == "NotFoundException"


def test_garbled_answers_are_200s_no_client_can_decode(server: Server) -> None:
    """garbled: a 200 with HTML, broken JSON or half a body; with perform the call was done by moto first."""
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/garbled-a", TargetKeyId=key)
    for kind in ("html", "json", "truncated"):
        server.control("POST", "/_fault/rules", {"operation": "DescribeKey", "action": "garbled", "body": kind, "count": 1})
        raw = requests_post(server, "DescribeKey", {"KeyId": key})
        assert raw[0] == 200, raw
        with pytest.raises(ValueError):
            json.loads(raw[1])
    # Not performed: the alias is still there; performed: it is gone although the answer was garbage.
    server.control("POST", "/_fault/rules", {"operation": "DeleteAlias", "action": "garbled", "count": 1})
    assert requests_post(server, "DeleteAlias", {"AliasName": "alias/garbled-a"})[0] == 200
    assert "alias/garbled-a" in [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    server.control("POST", "/_fault/rules", {"operation": "DeleteAlias", "action": "garbled", "perform": True, "count": 1})
    assert requests_post(server, "DeleteAlias", {"AliasName": "alias/garbled-a"})[0] == 200
    assert "alias/garbled-a" not in [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    with pytest.raises(Exception):
        server.control("POST", "/_fault/rules", {"operation": "DescribeKey", "action": "garbled", "body": "xml"})


def test_stall_body_sends_half_the_body_then_waits(server: Server) -> None:
    """stall_body: headers and half the body at once, the rest only after delay_ms."""
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    server.control("POST", "/_fault/rules", {"operation": "DescribeKey", "action": "stall_body", "delay_ms": 2500, "count": 1})
    impatient = boto3.client(
        "kms", region_name=REGION, endpoint_url=server.url,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=1),
        aws_access_key_id="AKIDTESTING", aws_secret_access_key="secret",
    )
    started = time.monotonic()
    with pytest.raises(Exception):
        impatient.describe_key(KeyId=key)
    assert time.monotonic() - started < 2.4, "the reader gave up while the body stalled"
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyId"] == key, "count 1: the next answer is whole"


def requests_post(server: Server, operation: str, body: dict) -> tuple[int, bytes]:
    """A signed KMS call whose raw answer is returned (boto3 would fail to parse a garbled one)."""
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=server.url + "/", data=data, headers={
        "X-Amz-Target": f"TrentService.{operation}", "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials("AKIDTESTING", "secret"), "kms", REGION).add_auth(request)
    prepared = urllib.request.Request(server.url + "/", data=data, headers=dict(request.headers), method="POST")
    with urllib.request.urlopen(prepared, timeout=10) as answer:
        return answer.status, answer.read()
