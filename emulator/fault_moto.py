#!/usr/bin/env python3
"""moto_server with a thin fault layer in front, for transferkeyd's tests.

moto answers every call promptly and correctly; real AWS throttles, fails, pages and
takes hours to copy a snapshot. This script serves moto's own WSGI app (the one
`moto_server` uses) behind a middleware that can:

* inject errors, latency, connection resets and rate limits per operation,
* page KMS ListAliases and add the alias CreationDate moto omits,
* report EC2 snapshots as pending/error although moto always says completed,
* log and count every AWS request it sees,
* refuse connections for a while (an outage) and listen again on the same port, moto's
  state intact,
* run AWS's clock ahead or behind (a skewed host): Date headers show it, and requests
  signed more than 5 minutes away from it are refused as AWS refuses them.

It is controlled over HTTP under /_fault/ (see emulator/README.md). Everything else,
including moto's own /moto-api/, goes to moto unchanged: moto's quirks that the layer
does not correct (emulator/README.md) are kept on purpose, other code designs around them.

Usage: python3 emulator/fault_moto.py --port 0 --port-file PATH [--parent-pid PID]
"""

from __future__ import annotations

import argparse
import base64
import calendar
import datetime
import io
import itertools
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

# SigV4: "AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/kms/aws4_request, ..."
CREDENTIAL_SCOPE = re.compile(r"Credential=([^/\s,]+)/\d{8}/([^/\s,]+)/([^/\s,]+)/aws4_request")

# Unsigned JSON requests still name their service in X-Amz-Target.
TARGET_PREFIXES = {"TrentService": "kms", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101": "cloudtrail"}

# garbled: a 200 whose body cannot be decoded (`body`: html, json or truncated), with the call performed by moto
# first when `perform` is true (else AWS never did it); stall_body: the answer's headers and half its body, then
# nothing for delay_ms (the connection stays open), then the rest.
ACTIONS = {"error", "latency", "late_answer", "throttle_rate", "reset", "garbled", "stall_body"}
GARBLED_BODIES = {"html", "json", "truncated"}

# A proxy in front of AWS that fails answers with a page like this, not with AWS's shape.
HTML_ERROR_PAGE = (
    "<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)

EC2_NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15"

# Progress AWS shows next to each snapshot state; moto always says 100%.
SNAPSHOT_PROGRESS = {"pending": "0%", "completed": "100%", "error": "0%"}


class ControlError(Exception):
    """A bad request to the /_fault/ control API (answered with 400)."""


@dataclass
class RequestInfo:
    """What the layer knows about one AWS request."""

    service: str
    operation: str
    region: str
    account: str
    # "json" (KMS), "ec2" (EC2 query) or "query" (STS, IAM): decides the error shape.
    protocol: str

    @property
    def key(self) -> str:
        return f"{self.service}.{self.operation}"


@dataclass
class TokenBucket:
    """AWS-style request quota: `rate` tokens per second, at most `burst` saved up."""

    rate: float
    burst: float
    tokens: float
    stamp: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Rule:
    """One fault rule, as posted to /_fault/rules, plus its counters."""

    id: str
    action: str
    operation: str | None
    service: str | None
    region: str | None
    account: str | None
    status: int | None
    code: str | None
    message: str | None
    count: int | None
    after: int
    delay_ms: int
    rate_per_second: float
    burst: float
    body: str = "html"
    perform: bool = False
    seen: int = 0
    fired: int = 0
    buckets: dict[tuple[str, str, str], TokenBucket] = field(default_factory=dict)

    @staticmethod
    def parse(rule_id: str, body: dict[str, Any]) -> Rule:
        def optional_str(name: str) -> str | None:
            value = body.get(name)
            if value is None or value == "*":
                return None
            if not isinstance(value, str):
                raise ControlError(f"{name} must be a string")
            return value

        def optional_int(name: str, default: int | None, minimum: int) -> int | None:
            value = body.get(name, default)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ControlError(f"{name} must be an integer >= {minimum}")
            return value

        known = {
            "operation", "service", "region", "account", "action", "status", "code",
            "message", "count", "after", "delay_ms", "rate_per_second", "burst", "body", "perform",
        }
        unknown = sorted(set(body) - known)
        if unknown:
            raise ControlError(f"unknown rule fields: {', '.join(unknown)}")
        action = body.get("action")
        if action not in ACTIONS:
            raise ControlError(f"action must be one of {sorted(ACTIONS)}")
        if action == "error" and not isinstance(body.get("code"), str):
            raise ControlError("an error rule needs a code")
        rate = body.get("rate_per_second", 1)
        if action == "throttle_rate" and (not isinstance(rate, (int, float)) or rate <= 0):
            raise ControlError("rate_per_second must be a number > 0")
        burst = body.get("burst", max(1, rate))
        if not isinstance(burst, (int, float)) or burst < 1:
            raise ControlError("burst must be a number >= 1")
        garbled_body = body.get("body", "html")
        if garbled_body not in GARBLED_BODIES:
            raise ControlError(f"body must be one of {sorted(GARBLED_BODIES)}")
        if not isinstance(body.get("perform", False), bool):
            raise ControlError("perform must be a boolean")
        status = optional_int("status", None, 100)
        if status is not None and status > 599:
            raise ControlError("status must be an HTTP status")
        return Rule(
            id=rule_id,
            action=action,
            operation=optional_str("operation"),
            service=optional_str("service"),
            region=optional_str("region"),
            account=optional_str("account"),
            status=status,
            code=optional_str("code"),
            message=None if body.get("message") is None else str(body["message"]),
            count=optional_int("count", None, 0),
            after=optional_int("after", 0, 0) or 0,
            delay_ms=optional_int("delay_ms", 0, 0) or 0,
            rate_per_second=float(rate),
            burst=float(burst),
            body=garbled_body,
            perform=bool(body.get("perform", False)),
        )

    def matches(self, info: RequestInfo) -> bool:
        return (
            (self.operation is None or self.operation == info.operation)
            and (self.service is None or self.service == info.service)
            and (self.region is None or self.region == info.region)
            and (self.account is None or self.account == info.account)
        )

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id, "action": self.action, "operation": self.operation,
            "service": self.service, "region": self.region, "account": self.account,
            "status": self.status, "code": self.code, "message": self.message,
            "count": self.count, "after": self.after, "delay_ms": self.delay_ms,
            "rate_per_second": self.rate_per_second, "burst": self.burst,
            "seen": self.seen, "fired": self.fired,
        }


class FaultLayer:
    """WSGI middleware in front of moto's DomainDispatcherApplication."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.rule_ids = itertools.count(1)
        self.rules: list[Rule] = []
        self.log: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.faulted: dict[str, int] = {}
        # Requests received and not yet answered, by service.Operation: a test can act while a call is in flight.
        self.in_flight: dict[str, int] = {}
        self.paging: dict[str, int] = {}
        self.snapshot_states: dict[str, dict[str, str]] = {}
        # Alias creation dates: backdated by tests (by name, any account/region), or the
        # first time the layer saw the alias, keyed by (account, region, alias name).
        self.alias_date_overrides: dict[str, float] = {}
        self.alias_first_seen: dict[tuple[str, str, str], float] = {}
        # LastUpdatedDate: the CreationDate until UpdateAlias moves it (AWS keeps CreationDate on a move),
        # or overridden by tests (by name).
        self.alias_last_updated: dict[tuple[str, str, str], float] = {}
        self.alias_updated_overrides: dict[str, float] = {}
        # DescribeKey fields moto has no notion of (CustomKeyStoreId), by key id.
        self.key_extras: dict[str, dict[str, Any]] = {}
        # Set by main(): closes the listener for N seconds (POST /_fault/outage).
        self.start_outage: Callable[[float], None] | None = None
        # While set, AWS requests on connections opened before the outage are dropped too.
        self.in_outage = threading.Event()
        # Seconds the emulated AWS clock is ahead of this host's (POST /_fault/clock): every answer's
        # Date header shows it, and a request signed more than 5 minutes away from it is refused as AWS
        # refuses a skewed signature. None: moto's own Date, no check.
        self.clock_offset: float | None = None
        # AWS's dates are on AWS's clock: a key made while the clock is offset has its CreationDate moved by the
        # offset in force when it was made (moto stamps it with this host's), by key id.
        self.key_date_shift: dict[str, float] = {}
        # The last successful cryptographic operation served per key id (GetKeyLastUsage, which moto lacks):
        # {"Operation", "Timestamp", "CloudTrailEventId", "KmsRequestId"}, recorded as AWS would, or injected by
        # tests (POST /_fault/key-usage).
        self.key_usage: dict[str, dict[str, Any]] = {}
        # CloudTrail's event history of KMS calls (LookupEvents, which moto lacks), newest last: every KMS call this
        # layer answered that names a key, with the caller and the error if it failed, plus injected events.
        self.trail: list[dict[str, Any]] = []
        # When each grant was made, by AWS's clock (moto keeps no grant dates): ListGrants answers them.
        self.grant_dates: dict[str, float] = {}

    # ----------------------------------------------------------------- dispatch

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_fault" or path.startswith("/_fault/"):
            return self.control(environ, start_response)
        if path.startswith("/moto-api"):
            if path.startswith("/moto-api/reset") and environ.get("REQUEST_METHOD") == "POST":
                with self.lock:
                    self.alias_first_seen.clear()
            return self.app(environ, start_response)
        return self.aws(environ, start_response)

    def aws(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.in_outage.is_set():
            # A pooled keep-alive connection outlives the listener: AWS is unreachable on it too.
            drop_connection(environ)
        started = time.time()
        body = read_body(environ)
        info = identify(environ, body)
        delay_ms, latency_rule, fault = self.decide(info)
        with self.lock:
            self.in_flight[info.key] = self.in_flight.get(info.key, 0) + 1
        try:
            return self.answer(environ, start_response, info, body, started, delay_ms, latency_rule, fault)
        finally:
            with self.lock:
                self.in_flight[info.key] -= 1

    def answer(
        self, environ: dict[str, Any], start_response: Callable[..., Any], info: RequestInfo, body: bytes,
        started: float, delay_ms: int, latency_rule: Rule | None, fault: Rule | None,
    ) -> Iterable[bytes]:
        if delay_ms:
            time.sleep(delay_ms / 1000)
        fault_id = fault.id if fault else (latency_rule.id if latency_rule else None)

        late_ms = 0
        stall: Rule | None = None
        if fault is not None and fault.action == "stall_body":
            stall, fault = fault, None
        if fault is not None and fault.action == "garbled":
            if fault.perform:
                environ["wsgi.input"] = io.BytesIO(body)
                call_app(self.app, environ)
            payload = garbled_payload(fault.body)
            self.record(info, started, 200, fault_id, faulted=True, body=body)
            start_response("200 OK", [
                ("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(payload))),
                ("x-amzn-RequestId", str(uuid.uuid4()))])
            return [payload]
        if fault is not None and fault.action == "late_answer":
            # moto does the work now; the answer leaves only after the delay (a client that gave
            # up meanwhile never learns that the call succeeded).
            late_ms, fault = fault.delay_ms, None
        skew_error = self.skew_error(environ, info)
        if skew_error is not None and fault is None:
            fault = skew_error
        if fault is not None and fault.action == "reset":
            self.record(info, started, None, fault_id, faulted=True, body=body)
            drop_connection(environ)
        if fault is not None:
            status, headers, payload = error_answer(fault, info)
        elif info.service == "cloudtrail" and info.operation == "LookupEvents":
            status, headers, payload = self.lookup_events(info, body)
        elif (info.service == "kms" and info.operation in ("ListGrants", "RetireGrant")
              and not self.key_exists(info, body)):
            # moto answers 500 for a key it does not know; AWS says NotFoundException.
            status, headers, payload = error_answer(Rule.parse("grants", {
                "action": "error", "code": "NotFoundException", "status": 400,
                "message": f"Key '{parse_json(body).get('KeyId')}' does not exist"}), info)
        elif info.service == "kms" and info.operation == "GetKeyLastUsage":
            status, headers, payload = self.key_last_usage(info, body)
        elif info.protocol == "ec2" and is_dry_run(environ, body):
            # moto ignores DryRun on reads and answers normally; AWS checks the permission only
            # and answers 412 DryRunOperation when allowed (a fault rule gives UnauthorizedOperation).
            status, headers, payload = dry_run_answer(info)
        else:
            environ["wsgi.input"] = io.BytesIO(body)
            status, headers, payload = call_app(self.app, environ)
            code = status_code(status)
            if code == 200 and info.service == "kms" and info.operation in CRYPTO_OPERATIONS:
                refusal = self.refuse_unusable_key(info, body, payload)
                if refusal is not None:
                    status, headers, payload = refusal
                else:
                    headers = self.note_key_use(info, body, headers, payload)
            if code == 200 and info.service == "kms":
                headers, payload = self.rewrite_kms(info, body, headers, payload)
                if payload is None:
                    status, headers, payload = marker_error(info)
            elif code == 200 and info.service == "ec2" and info.operation == "DescribeSnapshots":
                payload = self.rewrite_snapshots(payload)
        if late_ms:
            time.sleep(late_ms / 1000)
        if info.service == "kms":
            self.note_trail_event(environ, info, body, status_code(status), payload)
        self.record(info, started, status_code(status), fault_id, faulted=fault is not None, body=body)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(payload))))
        if info.service == "kms" and not any(k.lower() == "x-amzn-requestid" for k, _ in headers):
            # Real KMS answers every request with a request id; moto sends none on success.
            headers.append(("x-amzn-RequestId", str(uuid.uuid4())))
        # The Date header itself comes from the request handler (see skewed_handler), which writes it
        # before any header of the app.
        headers = [(k, v) for k, v in headers if k.lower() != "date"]
        start_response(status, headers)
        if stall is not None:
            return stalled(payload, stall.delay_ms)
        return [payload]

    def refuse_unusable_key(
        self, info: RequestInfo, body: bytes, payload: bytes
    ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """AWS refuses a cryptographic call on a key pending deletion or disabled (moto performs it): the error AWS
        sends."""
        import moto.kms.models as kms_models

        key_ref = parse_json(payload).get("KeyId") or parse_json(body).get("KeyId")
        if not isinstance(key_ref, str) or not key_ref:
            return None
        try:
            key = kms_models.kms_backends[info.account][info.region].describe_key(key_ref)
        except Exception:
            return None
        if key.key_state == "Disabled":
            # AWS: DisabledException for a cryptographic call with a disabled key (moto performs it).
            return error_answer(Rule.parse("disabled", {
                "action": "error", "code": "DisabledException", "status": 400,
                "message": f"{key.arn} is disabled."}), info)
        if key.key_state not in ("PendingDeletion", "PendingReplicaDeletion"):
            return None
        return error_answer(Rule.parse("pending", {
            "action": "error", "code": "KMSInvalidStateException", "status": 400,
            "message": f"{key.arn} is pending deletion."}), info)

    def note_key_use(
        self, info: RequestInfo, body: bytes, headers: list[tuple[str, str]], payload: bytes
    ) -> list[tuple[str, str]]:
        """Records a successful cryptographic call as the key's last use, with the request id it is answered with."""
        answer = parse_json(payload)
        key_ref = answer.get("KeyId") or parse_json(body).get("KeyId")
        if not isinstance(key_ref, str) or not key_ref:
            return headers
        key_id = self.resolve_key_id(info, key_ref)
        request_id = str(uuid.uuid4())
        with self.lock:
            self.key_usage[key_id] = {
                "Operation": info.operation, "Timestamp": self.aws_time(),
                "CloudTrailEventId": str(uuid.uuid4()), "KmsRequestId": request_id,
            }
        return [(k, v) for k, v in headers if k.lower() != "x-amzn-requestid"] + [("x-amzn-RequestId", request_id)]

    @staticmethod
    def resolve_key_id(info: RequestInfo, key_ref: str) -> str:
        """The bare key id of a key id, key ARN or alias (an alias through moto's backend)."""
        if ":key/" in key_ref:
            return key_ref.split(":key/", 1)[1]
        if key_ref.startswith("alias/") or ":alias/" in key_ref:
            import moto.kms.models as kms_models

            try:
                return kms_models.kms_backends[info.account][info.region].describe_key(key_ref).id
            except Exception:  # an unknown alias names no key
                return key_ref
        return key_ref

    def note_trail_event(
        self, environ: dict[str, Any], info: RequestInfo, body: bytes, status: int, payload: bytes
    ) -> None:
        """Records a KMS call naming a key as CloudTrail would: who, when, what, and the error if it failed."""
        key_ref = parse_json(body).get("KeyId")
        if info.operation == "CreateKey" and status == 200:
            # CreateKey names no key in its request: CloudTrail lists the key it made as the event's resource.
            key_ref = parse_json(payload).get("KeyMetadata", {}).get("KeyId")
        if not isinstance(key_ref, str) or not key_ref:
            return
        key_id = self.resolve_key_id(info, key_ref)
        scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        caller = scope.group(1) if scope else "anonymous"
        error: dict[str, Any] = {}
        if status >= 400:
            answer = parse_json(payload)
            error = {"errorCode": str(answer.get("__type", "")).rpartition("#")[2] or str(status),
                     "errorMessage": answer.get("message") or answer.get("Message") or ""}
        with self.lock:
            self.add_trail_event(info.account, info.region, key_id, info.operation,
                                 f"arn:aws:iam::{info.account}:user/{caller}", self.aws_time(), error)

    def add_trail_event(self, account: str, region: str, key_id: str, name: str, principal: str, at: float,
                        error: dict[str, Any]) -> dict[str, Any]:
        arn = f"arn:aws:kms:{region}:{account}:key/{key_id}"
        detail = {"eventVersion": "1.08", "userIdentity": {"type": "IAMUser", "arn": principal},
                  "eventTime": datetime.datetime.fromtimestamp(at, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "eventSource": "kms.amazonaws.com", "eventName": name, "awsRegion": region,
                  "requestParameters": {"keyId": arn}, "resources": [{"ARN": arn, "type": "AWS::KMS::Key"}], **error}
        event = {"EventId": str(uuid.uuid4()), "EventName": name, "ReadOnly": "false", "EventTime": at,
                 "EventSource": "kms.amazonaws.com", "Username": principal.rpartition("/")[2],
                 "Resources": [{"ResourceType": "AWS::KMS::Key", "ResourceName": arn}],
                 "CloudTrailEvent": json.dumps(detail), "_region": region, "_account": account}
        # Called with the layer's lock held.
        self.trail.append(event)
        return event

    def lookup_events(self, info: RequestInfo, body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        """LookupEvents in CloudTrail's shape: the account × region's events, newest first, one lookup attribute, a
        time window, pages of at most 50."""
        request = parse_json(body)
        attributes = request.get("LookupAttributes") or []
        start, end = request.get("StartTime"), request.get("EndTime")
        size = min(int(request.get("MaxResults") or 50), 50)
        offset = decode_marker(request.get("NextToken")) if request.get("NextToken") else 0
        if offset is None or len(attributes) > 1:
            return error_answer(Rule.parse("trail", {
                "action": "error", "code": "InvalidLookupAttributesException" if offset is not None
                else "InvalidNextTokenException", "status": 400}), info)

        def keep(event: dict[str, Any]) -> bool:
            if event["_region"] != info.region or event["_account"] != info.account:
                return False
            for attribute in attributes:
                key, value = attribute.get("AttributeKey"), attribute.get("AttributeValue")
                if key == "ResourceName" and value not in [r["ResourceName"] for r in event["Resources"]]:
                    return False
                if key == "EventName" and event["EventName"] != value:
                    return False
                if key == "EventSource" and event["EventSource"] != value:
                    return False
            if isinstance(start, (int, float)) and event["EventTime"] < start:
                return False
            return not (isinstance(end, (int, float)) and event["EventTime"] > end)

        with self.lock:
            matching = [e for e in reversed(self.trail) if keep(e)]
        page = [{k: v for k, v in e.items() if not k.startswith("_")} for e in matching[offset:offset + size]]
        answer: dict[str, Any] = {"Events": page}
        if offset + size < len(matching):
            answer["NextToken"] = encode_marker(offset + size)
        return "200 OK", [("Content-Type", "application/x-amz-json-1.1")], json.dumps(answer).encode()

    @staticmethod
    def key_exists(info: RequestInfo, body: bytes) -> bool:
        """Whether moto knows the key the request names (by id, ARN or alias)."""
        import moto.kms.models as kms_models

        try:
            kms_models.kms_backends[info.account][info.region].describe_key(str(parse_json(body).get("KeyId")))
            return True
        except Exception:
            return False

    def key_last_usage(self, info: RequestInfo, body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        """GetKeyLastUsage in KMS's shape: the last use recorded here, tracked since the key's creation."""
        import moto.kms.models as kms_models

        key_ref = parse_json(body).get("KeyId")
        try:
            key = kms_models.kms_backends[info.account][info.region].describe_key(str(key_ref))
        except Exception:
            return error_answer(Rule.parse("usage", {
                "action": "error", "code": "NotFoundException", "status": 400,
                "message": f"Key '{key_ref}' does not exist"}), info)
        with self.lock:
            created = float(key.creation_date) + self.key_date_shift.get(key.id, 0.0)
            answer: dict[str, Any] = {"KeyId": key.arn, "TrackingStartDate": created, "KeyCreationDate": created}
            use = self.key_usage.get(key.id)
            if use:
                answer["KeyLastUsage"] = dict(use)
        return "200 OK", [("Content-Type", "application/x-amz-json-1.1")], json.dumps(answer).encode()

    def aws_time(self) -> float:
        """AWS's clock now: this host's, moved by the offset a test set (POST /_fault/clock)."""
        return time.time() + (self.clock_offset or 0.0)

    def skew_error(self, environ: dict[str, Any], info: RequestInfo) -> Rule | None:
        """With a clock offset set: AWS's answer to a request signed more than 5 minutes off its clock."""
        offset = self.clock_offset
        if offset is None:
            return None
        signed = environ.get("HTTP_X_AMZ_DATE", "")
        try:
            signed_at = calendar.timegm(time.strptime(signed, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            return None
        server_now = time.time() + offset
        if abs(signed_at - server_now) <= 300:
            return None
        # What each service says: KMS InvalidSignatureException, STS SignatureDoesNotMatch, EC2 RequestExpired.
        code, status = {"json": ("InvalidSignatureException", 400), "ec2": ("RequestExpired", 400)}.get(
            info.protocol, ("SignatureDoesNotMatch", 403))
        return Rule.parse("clock", {
            "action": "error", "code": code, "status": status,
            "message": f"Signature expired: {signed} is now earlier or later than the server time (+/- 5 min)",
        })

    def decide(self, info: RequestInfo) -> tuple[int, Rule | None, Rule | None]:
        """Walks the rules in order: latency adds up, the first error/throttle/reset wins.

        A late_answer rule is a latency applied after moto acted (see aws()): it is returned as
        the fault, with no error of its own.
        """
        delay_ms, latency_rule = 0, None
        now = time.monotonic()
        with self.lock:
            for rule in self.rules:
                if not rule.matches(info):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after or (rule.count is not None and rule.fired >= rule.count):
                    continue
                if rule.action == "throttle_rate":
                    bucket_key = (info.account, info.region, info.operation)
                    bucket = rule.buckets.get(bucket_key)
                    if bucket is None:
                        bucket = TokenBucket(rule.rate_per_second, rule.burst, rule.burst, now)
                        rule.buckets[bucket_key] = bucket
                    if bucket.take(now):
                        continue
                rule.fired += 1
                if rule.action == "latency":
                    delay_ms += rule.delay_ms
                    latency_rule = rule
                    continue
                return delay_ms, latency_rule, rule
        return delay_ms, latency_rule, None

    def record(
        self, info: RequestInfo, started: float, status: int | None, fault: str | None, faulted: bool,
        body: bytes = b"",
    ) -> None:
        entry: dict[str, Any] = {
            "t": started, "done": time.time(), "service": info.service, "operation": info.operation,
            "region": info.region, "account": info.account, "status": status, "fault": fault,
        }
        if info.protocol == "json":
            # Which key or alias a KMS call named, so tests can count calls per key.
            fields = parse_json(body)
            for field, name in (("KeyId", "key_id"), ("AliasName", "alias_name")):
                if isinstance(fields.get(field), str):
                    entry[name] = fields[field]
        with self.lock:
            self.log.append(entry)
            self.counts[info.key] = self.counts.get(info.key, 0) + 1
            if faulted:
                self.faulted[info.key] = self.faulted.get(info.key, 0) + 1

    # ------------------------------------------------------------ rewrites

    def rewrite_kms(
        self, info: RequestInfo, body: bytes, headers: list[tuple[str, str]], payload: bytes
    ) -> tuple[list[tuple[str, str]], bytes | None]:
        """Tracks alias dates, and pages ListAliases. Returns payload None for a bad Marker."""
        request = parse_json(body)
        if info.operation in ("CreateAlias", "UpdateAlias") and isinstance(request.get("AliasName"), str):
            with self.lock:
                key = (info.account, info.region, request["AliasName"])
                now = self.aws_time()
                self.alias_first_seen.setdefault(key, now)
                if info.operation == "UpdateAlias":
                    self.alias_last_updated[key] = now
            return headers, payload
        if info.operation == "DeleteAlias" and isinstance(request.get("AliasName"), str):
            with self.lock:
                self.alias_first_seen.pop((info.account, info.region, request["AliasName"]), None)
                self.alias_last_updated.pop((info.account, info.region, request["AliasName"]), None)
            return headers, payload
        if info.operation == "CreateGrant":
            # moto keeps no grant dates; AWS's ListGrants answers each grant's CreationDate (by AWS's clock).
            grant_id = json.loads(payload).get("GrantId")
            with self.lock:
                if isinstance(grant_id, str):
                    self.grant_dates[grant_id] = self.aws_time()
            return headers, payload
        if info.operation == "ListGrants":
            answer = json.loads(payload)
            with self.lock:
                for grant in answer.get("Grants", []):
                    if grant.get("GrantId") in self.grant_dates:
                        grant["CreationDate"] = self.grant_dates[grant["GrantId"]]
                    if grant.get("RetiringPrincipal") is None:
                        grant.pop("RetiringPrincipal", None)
            return headers, json.dumps(answer).encode()
        if info.operation in ("DescribeKey", "CreateKey"):
            answer = json.loads(payload)
            metadata = answer.get("KeyMetadata", {})
            # moto leaves KeyUsage null when CreateKey did not name it; AWS defaults it to ENCRYPT_DECRYPT.
            if metadata.get("KeyUsage") is None:
                metadata["KeyUsage"] = "ENCRYPT_DECRYPT"
            with self.lock:
                key_id = metadata.get("KeyId", "")
                if info.operation == "CreateKey" and self.clock_offset:
                    self.key_date_shift[key_id] = self.clock_offset
                shift = self.key_date_shift.get(key_id)
                if shift and isinstance(metadata.get("CreationDate"), (int, float)):
                    metadata["CreationDate"] += shift
                metadata.update(self.key_extras.get(key_id, {}))
            return headers, json.dumps(answer).encode()
        if info.operation != "ListAliases":
            return headers, payload

        answer = json.loads(payload)
        aliases = answer.get("Aliases", [])
        now = self.aws_time()
        with self.lock:
            for alias in aliases:
                name = alias.get("AliasName", "")
                first = self.alias_first_seen.setdefault((info.account, info.region, name), now)
                if name in self.alias_date_overrides:
                    alias["CreationDate"] = self.alias_date_overrides[name]
                elif "CreationDate" not in alias:
                    alias["CreationDate"] = first
                if name in self.alias_updated_overrides:
                    alias["LastUpdatedDate"] = self.alias_updated_overrides[name]
                elif "LastUpdatedDate" not in alias:
                    updated = self.alias_last_updated.get((info.account, info.region, name))
                    alias["LastUpdatedDate"] = max(updated or 0, alias["CreationDate"])
            page_size = self.paging.get("ListAliases")
        if page_size:
            # moto ignores Limit and Marker and always answers everything at once.
            limit = request.get("Limit")
            size = min(limit if isinstance(limit, int) and limit > 0 else 100, page_size)
            offset = decode_marker(request.get("Marker"))
            if offset is None:
                return headers, None
            page = aliases[offset:offset + size]
            answer["Aliases"] = page
            answer["Truncated"] = offset + size < len(aliases)
            answer.pop("NextMarker", None)
            if answer["Truncated"]:
                answer["NextMarker"] = encode_marker(offset + size)
        else:
            answer["Aliases"] = aliases
        return headers, json.dumps(answer).encode()

    def rewrite_snapshots(self, payload: bytes) -> bytes:
        """Reports the overridden State/Progress of snapshots; moto always says completed."""
        with self.lock:
            overrides = dict(self.snapshot_states)
        if not overrides:
            return payload
        root = ET.fromstring(payload)
        ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
        q = (lambda tag: f"{{{ns}}}{tag}") if ns else (lambda tag: tag)
        changed = False
        for snapshot_set in root.findall(q("snapshotSet")):
            for item in snapshot_set.findall(q("item")):
                snapshot_id = item.findtext(q("snapshotId"))
                override = overrides.get(snapshot_id or "")
                if override is None:
                    continue
                for tag, value in (("status", override["state"]), ("progress", override["progress"])):
                    element = item.find(q(tag))
                    if element is None:
                        element = ET.SubElement(item, q(tag))
                    element.text = value
                changed = True
        if not changed:
            return payload
        return ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=ns or None)

    # ---------------------------------------------------------------- keys

    def backdate_alias_key(self, alias_name: str, creation_date: float) -> None:
        """Sets the creation date of the key(s) an alias targets, in every account and region (none: nothing,
        like a date override for an alias that does not exist yet)."""
        import moto.kms.models as kms_models

        for _, regions in list(kms_models.kms_backends.items()):
            for _, backend in list(regions.items()):
                for key in list(backend.keys.values()):
                    if alias_name in key.aliases:
                        key.creation_date = creation_date

    def set_key(self, request: dict[str, Any]) -> dict[str, Any]:
        """Changes what moto holds about one key: what AWS would report for a key made long ago, an
        imported or external key, or a key being replicated. Called with the layer's lock held.

        {"key_id": "...", "account": "...", "region": "...", "creation_date": epoch,
         "state": "Creating" | "Updating" | "Disabled" | "PendingImport" | "Unavailable" | ...,
         "origin": "EXTERNAL" | "EXTERNAL_KEY_STORE" | ..., "custom_key_store_id": "cks-...",
         "key_spec": "...", "key_usage": "..."}
        """
        import moto.kms.models as kms_models

        key_id = request.get("key_id")
        if not isinstance(key_id, str) or not key_id:
            raise ControlError("key_id is required")
        account = request.get("account", "123456789012")
        region = request.get("region", "us-east-1")
        if not isinstance(account, str) or not isinstance(region, str):
            raise ControlError("account and region must be strings")
        backend = kms_models.kms_backends[account][region]
        key = backend.keys.get(key_id)
        if key is None:
            raise ControlError(f"no key {key_id} in {account}/{region}")
        changed: dict[str, Any] = {"key_id": key_id}
        if "creation_date" in request:
            value = request["creation_date"]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ControlError("creation_date must be epoch seconds")
            key.creation_date = float(value)
            changed["creation_date"] = float(value)
        for field, attribute in (("state", "key_state"), ("origin", "origin"), ("key_spec", "key_spec"),
                                 ("key_usage", "key_usage")):
            if field in request:
                value = request[field]
                if not isinstance(value, str) or not value:
                    raise ControlError(f"{field} must be a non-empty string")
                setattr(key, attribute, value)
                changed[field] = value
        if "state" in request:
            key.enabled = request["state"] == "Enabled"
        if "custom_key_store_id" in request:
            value = request["custom_key_store_id"]
            if value is None:
                self.key_extras.get(key_id, {}).pop("CustomKeyStoreId", None)
            elif isinstance(value, str) and value:
                self.key_extras.setdefault(key_id, {})["CustomKeyStoreId"] = value
            else:
                raise ControlError("custom_key_store_id must be a non-empty string or null")
            changed["custom_key_store_id"] = value
        return changed

    # -------------------------------------------------------------- control

    def control(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "").rstrip("/")
        body = read_body(environ)
        try:
            request = json.loads(body) if body.strip() else {}
            status, answer = self.handle_control(method, path, request)
        except (ControlError, ValueError) as error:
            status, answer = 400, {"error": str(error)}
        payload = json.dumps(answer).encode()
        start_response(
            f"{status} {reason_phrase(status)}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def handle_control(self, method: str, path: str, request: Any) -> tuple[int, Any]:
        route = (method, path)
        if method == "POST" and not isinstance(request, dict):
            raise ControlError("the body must be a JSON object")
        with self.lock:
            if route == ("POST", "/_fault/rules"):
                rule = Rule.parse(f"r{next(self.rule_ids)}", request)
                self.rules.append(rule)
                return 200, {"id": rule.id}
            if route == ("GET", "/_fault/rules"):
                return 200, [rule.describe() for rule in self.rules]
            if route == ("DELETE", "/_fault/rules"):
                self.rules.clear()
                return 200, {}
            if method == "DELETE" and path.startswith("/_fault/rules/"):
                rule_id = path.rsplit("/", 1)[1]
                before = len(self.rules)
                self.rules = [rule for rule in self.rules if rule.id != rule_id]
                return (200, {}) if len(self.rules) < before else (404, {"error": f"no rule {rule_id}"})
            if route == ("GET", "/_fault/log"):
                return 200, list(self.log)
            if route == ("DELETE", "/_fault/log"):
                self.log.clear()
                return 200, {}
            if route == ("GET", "/_fault/counts"):
                in_flight = {key: value for key, value in self.in_flight.items() if value > 0}
                return 200, {**self.counts, "faulted": dict(self.faulted), "in_flight": in_flight}
            if route == ("DELETE", "/_fault/counts"):
                self.counts.clear()
                self.faulted.clear()
                return 200, {}
            if route == ("POST", "/_fault/paging"):
                for operation, size in request.items():
                    if operation != "ListAliases":
                        raise ControlError("only ListAliases can be paged")
                    if size is None or size == 0:
                        self.paging.pop(operation, None)
                    elif isinstance(size, bool) or not isinstance(size, int) or size < 1:
                        raise ControlError("a page size must be a positive integer")
                    else:
                        self.paging[operation] = size
                return 200, dict(self.paging)
            if route == ("GET", "/_fault/paging"):
                return 200, dict(self.paging)
            if route == ("DELETE", "/_fault/paging"):
                self.paging.clear()
                return 200, {}
            if route == ("POST", "/_fault/alias-dates"):
                for name, epoch in request.items():
                    if isinstance(epoch, dict):
                        # {"created": epoch, "updated": epoch, "key_lead": seconds}: any of them. key_lead
                        # also dates the alias's key that many seconds before the alias, as a real transfer
                        # key (made, then aliased) would be.
                        lead = epoch.get("key_lead")
                        if lead is not None:
                            if isinstance(lead, bool) or not isinstance(lead, (int, float)) or "created" not in epoch:
                                raise ControlError(f"key_lead of {name} needs a number and a created date")
                            self.backdate_alias_key(name, float(epoch["created"]) - float(lead))
                        for field, target in (("created", self.alias_date_overrides),
                                              ("updated", self.alias_updated_overrides)):
                            value = epoch.get(field)
                            if value is None:
                                continue
                            if isinstance(value, bool) or not isinstance(value, (int, float)):
                                raise ControlError(f"the {field} date of {name} must be epoch seconds")
                            target[name] = float(value)
                        continue
                    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)):
                        raise ControlError(f"the date of {name} must be epoch seconds")
                    self.alias_date_overrides[name] = float(epoch)
                return 200, dict(self.alias_date_overrides)
            if route == ("DELETE", "/_fault/alias-dates"):
                self.alias_date_overrides.clear()
                self.alias_updated_overrides.clear()
                return 200, {}
            if route == ("POST", "/_fault/cloudtrail-events"):
                # {"account", "region", "key_id", "event_name", "principal", "timestamp", "error_code"?, "error_message"?}
                fields = {name: request.get(name) for name in ("account", "region", "key_id", "event_name", "principal")}
                stamp = request.get("timestamp", time.time())
                if not all(isinstance(v, str) and v for v in fields.values()) or isinstance(stamp, bool) \
                        or not isinstance(stamp, (int, float)):
                    raise ControlError("account, region, key_id, event_name, principal (strings) and timestamp are required")
                error = {}
                if request.get("error_code"):
                    error = {"errorCode": str(request["error_code"]), "errorMessage": str(request.get("error_message", ""))}
                event = self.add_trail_event(fields["account"], fields["region"], fields["key_id"],
                                             fields["event_name"], fields["principal"], float(stamp), error)
                return 200, {"EventId": event["EventId"]}
            if route == ("POST", "/_fault/key-usage"):
                # {"key_id": "...", "operation": "Decrypt", "timestamp": epoch}: a use AWS recorded, backdated.
                key_id, operation, stamp = request.get("key_id"), request.get("operation"), request.get("timestamp")
                if not isinstance(key_id, str) or not isinstance(operation, str) or isinstance(stamp, bool) \
                        or not isinstance(stamp, (int, float)):
                    raise ControlError("key_id, operation (strings) and timestamp (epoch seconds) are required")
                self.key_usage[key_id] = {
                    "Operation": operation, "Timestamp": float(stamp), "CloudTrailEventId": str(uuid.uuid4()),
                    "KmsRequestId": str(uuid.uuid4()),
                }
                return 200, self.key_usage[key_id]
            if route == ("POST", "/_fault/keys"):
                return 200, self.set_key(request)
            if route == ("DELETE", "/_fault/keys"):
                self.key_extras.clear()
                return 200, {}
            if route == ("POST", "/_fault/snapshots"):
                for snapshot_id, value in request.items():
                    self.snapshot_states[snapshot_id] = parse_snapshot_override(snapshot_id, value)
                return 200, dict(self.snapshot_states)
            if route == ("GET", "/_fault/snapshots"):
                return 200, dict(self.snapshot_states)
            if route == ("DELETE", "/_fault/snapshots"):
                self.snapshot_states.clear()
                return 200, {}
            if route == ("POST", "/_fault/outage"):
                seconds = request.get("seconds")
                if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 300:
                    raise ControlError("seconds must be a number in (0, 300]")
                if self.start_outage is None:
                    raise ControlError("outages need the server started by main()")
                self.start_outage(float(seconds))
                return 200, {"seconds": seconds}
            if route == ("POST", "/_fault/clock"):
                offset = request.get("offset_seconds")
                if isinstance(offset, bool) or not isinstance(offset, (int, float)) or abs(offset) > 86400 * 366:
                    raise ControlError("offset_seconds must be a number of seconds (at most a year)")
                self.clock_offset = float(offset)
                return 200, {"offset_seconds": offset}
            if route == ("DELETE", "/_fault/clock"):
                self.clock_offset = None
                return 200, {}
            if route == ("POST", "/_fault/reset"):
                self.clock_offset = None
                self.rules.clear()
                self.log.clear()
                self.counts.clear()
                self.faulted.clear()
                self.paging.clear()
                self.snapshot_states.clear()
                self.alias_date_overrides.clear()
                self.alias_updated_overrides.clear()
                self.alias_first_seen.clear()
                self.alias_last_updated.clear()
                self.key_extras.clear()
                self.key_date_shift.clear()
                self.key_usage.clear()
                self.trail.clear()
        if route == ("POST", "/_fault/reset"):
            # Outside the lock: moto's reset takes a moment and must not block the log.
            status, _, payload = call_app(self.app, moto_reset_environ())
            if status_code(status) != 200:
                return 500, {"error": f"moto reset answered {status}: {payload[:200]!r}"}
            return 200, {}
        return 404, {"error": f"no control route {method} {path}"}


# ------------------------------------------------------------------ helpers


def read_body(environ: dict[str, Any]) -> bytes:
    """Reads the whole request body and puts it back for whoever reads next (moto)."""
    stream = environ.get("wsgi.input")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if stream is None:
        body = b""
    elif length > 0:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):
        # Chunked upload: werkzeug ends the stream at the last chunk.
        body = stream.read()
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def identify(environ: dict[str, Any], body: bytes) -> RequestInfo:
    """Service, operation, region and account of an AWS request, the way moto sees them."""
    service, region, access_key = None, DEFAULT_REGION, None
    scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if scope:
        access_key, region, service = scope.group(1), scope.group(2), scope.group(3).lower()

    target = environ.get("HTTP_X_AMZ_TARGET", "")
    operation = ""
    if target:
        prefix, _, operation = target.rpartition(".")
        service = service or TARGET_PREFIXES.get(prefix)
    else:
        fields = parse_qs(environ.get("QUERY_STRING", ""))
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            fields.update(parse_qs(body.decode("utf-8", "replace")))
        operation = (fields.get("Action") or [""])[0]

    # Same precedence as moto's BaseResponse.get_current_account.
    account = os.environ.get("MOTO_ACCOUNT_ID") or environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if not account and access_key:
        from moto.iam.models import get_account_id_from

        account = get_account_id_from(access_key)
    service = service or "unknown"
    protocol = "json" if target else ("ec2" if service == "ec2" else "query")
    return RequestInfo(service, operation, region, account or DEFAULT_ACCOUNT, protocol)


def call_app(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Runs a WSGI app to completion and returns its status line, headers and body."""
    answer: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        answer["status"], answer["headers"] = status, list(headers)
        return chunks.append

    iterable = app(environ, start_response)
    try:
        for chunk in iterable:
            chunks.append(chunk)
    finally:
        close = getattr(iterable, "close", None)
        if close:
            close()
    return answer["status"], answer["headers"], b"".join(chunks)


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Injected"


def status_code(status: str) -> int:
    return int(status.split(" ", 1)[0])


# KMS operations that use key material: what GetKeyLastUsage reports.
CRYPTO_OPERATIONS = {
    "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify", "GenerateMac", "VerifyMac", "DeriveSharedSecret",
}


def error_answer(rule: Rule, info: RequestInfo) -> tuple[str, list[tuple[str, str]], bytes]:
    """The error AWS would send for this protocol (or a proxy's HTML page)."""
    request_id = str(uuid.uuid4())
    if rule.action == "throttle_rate":
        # KMS and STS throttle with 400 ThrottlingException, EC2 with 503 RequestLimitExceeded.
        default_status, default_code = (503, "RequestLimitExceeded") if info.protocol == "ec2" else (400, "ThrottlingException")
        status, code = rule.status or default_status, rule.code or default_code
        message = rule.message or "Rate exceeded"
    else:
        status, code = rule.status or 400, rule.code or "InternalFailure"
        message = rule.message or "Injected by the fault layer"
    status_line = f"{status} {reason_phrase(status)}"

    if code == "html":
        page = HTML_ERROR_PAGE.format(status=status, phrase=reason_phrase(status)).encode()
        return status_line, [("Content-Type", "text/html")], page
    if info.protocol == "json":
        payload = json.dumps({"__type": code, "message": message}).encode()
        return status_line, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)], payload
    if info.protocol == "ec2":
        payload = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        return status_line, [("Content-Type", "text/xml;charset=UTF-8")], payload
    kind = "Receiver" if status >= 500 else "Sender"
    payload = (
        f"<ErrorResponse><Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    return status_line, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], payload


def garbled_payload(kind: str) -> bytes:
    """A 200's body that no client can decode: a proxy's HTML page, JSON that is not, or half an answer."""
    if kind == "html":
        return b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    if kind == "json":
        return b'{"KeyMetadata": {"KeyId": "'
    return b'{"KeyMetadata": {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "KeyState": "Ena'


def stalled(payload: bytes, delay_ms: int) -> Iterable[bytes]:
    """Half the body, then nothing for delay_ms with the connection open, then the rest."""
    half = len(payload) // 2
    yield payload[:half]
    time.sleep(delay_ms / 1000)
    yield payload[half:]


def is_dry_run(environ: dict[str, Any], body: bytes) -> bool:
    """Whether an EC2 query request carries `DryRun=true`."""
    fields = parse_qs(environ.get("QUERY_STRING", ""))
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        fields.update(parse_qs(body.decode("utf-8", "replace")))
    return (fields.get("DryRun") or [""])[0].lower() == "true"


def dry_run_answer(info: RequestInfo) -> tuple[str, list[tuple[str, str]], bytes]:
    """AWS's answer to an allowed request made with `DryRun=true`."""
    rule = Rule.parse("dry-run", {
        "action": "error", "status": 412, "code": "DryRunOperation",
        "message": "Request would have succeeded, but DryRun flag is set.",
    })
    return error_answer(rule, info)


def marker_error(info: RequestInfo) -> tuple[str, list[tuple[str, str]], bytes]:
    """AWS's answer to a ListAliases Marker it did not issue."""
    rule = Rule.parse("marker", {"action": "error", "code": "InvalidMarkerException", "message": "Invalid marker"})
    return error_answer(rule, info)


def drop_connection(environ: dict[str, Any]) -> None:
    """Closes the client's connection without an answer (best effort "connection reset")."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            # Linger 0 makes the final close send RST instead of FIN where it can.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    # werkzeug treats ConnectionError as "client went away" and logs nothing else.
    raise ConnectionResetError("connection reset injected by the fault layer")


def encode_marker(offset: int) -> str:
    return base64.urlsafe_b64encode(f"fault-layer:{offset}".encode()).decode()


def decode_marker(marker: Any) -> int | None:
    """Offset of a NextMarker we issued; 0 without a marker; None if not ours."""
    if marker is None:
        return 0
    try:
        prefix, _, offset = base64.urlsafe_b64decode(str(marker).encode()).decode().partition(":")
        return int(offset) if prefix == "fault-layer" and int(offset) >= 0 else None
    except (ValueError, UnicodeDecodeError):
        return None


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def parse_snapshot_override(snapshot_id: str, value: Any) -> dict[str, str]:
    """"pending" or {"state": "pending", "progress": "42%"} → {"state", "progress"}."""
    state, progress = (value.get("state"), value.get("progress")) if isinstance(value, dict) else (value, None)
    if state not in SNAPSHOT_PROGRESS:
        raise ControlError(f"state of {snapshot_id} must be one of {sorted(SNAPSHOT_PROGRESS)}")
    if progress is not None and not isinstance(progress, str):
        raise ControlError(f"progress of {snapshot_id} must be a string like '42%'")
    return {"state": state, "progress": progress or SNAPSHOT_PROGRESS[state]}


def moto_reset_environ() -> dict[str, Any]:
    from werkzeug.test import EnvironBuilder

    return EnvironBuilder(path="/moto-api/reset", method="POST").get_environ()


# --------------------------------------------------------------------- main


def watch_parent(parent_pid: int) -> None:
    """Exits as soon as the test process that started us is gone (even if it crashed)."""
    started_under_parent = os.getppid() == parent_pid
    while True:
        time.sleep(0.5)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass  # exists, owned by someone else
        # A dead parent may linger as a zombie; being re-parented also means it is gone.
        if started_under_parent and os.getppid() != parent_pid:
            os._exit(0)


def write_port_file(path: str, port: int) -> None:
    """Writes the port atomically, so a reader never sees a half-written file."""
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(temporary, "w") as handle:
        handle.write(f"{port}\n")
    os.replace(temporary, path)


def use_aws_key_ids() -> None:
    """Multi-Region key ids as AWS writes them: `mrk-` + 32 hex digits.

    moto writes `mrk-` + a dashed UUID, which no real key has and which transferkeyd's
    input validation (rightly) refuses. Single-Region ids are moto's own, already AWS-shaped.
    """
    import uuid

    import moto.kms.models as kms_models

    moto_key_id = kms_models.generate_key_id

    def generate_key_id(multi_region: bool = False) -> str:
        return "mrk-" + uuid.uuid4().hex if multi_region else moto_key_id(False)

    kms_models.generate_key_id = generate_key_id

    # moto also checks the id's shape before looking the key up; accept AWS's shape there too.
    from moto.kms.exceptions import NotFoundException
    from moto.kms.responses import KmsResponse

    moto_validate = KmsResponse._validate_cmk_id

    def validate_cmk_id(self: Any, key_id: str) -> None:
        if re.fullmatch(r"mrk-[0-9a-f]{32}", key_id):
            if self.kms_backend.get_key_id(key_id) not in self.kms_backend.keys:
                raise NotFoundException(f"Key '{self._display_arn(key_id)}' does not exist")
            return
        moto_validate(self, key_id)

    KmsResponse._validate_cmk_id = validate_cmk_id

    # moto's replica is a shallow copy sharing the primary's MultiRegionConfiguration dict, and
    # DescribeKey of the replica writes "REPLICA" into it: the primary then claims to be a
    # replica. Give each replica its own dict (AWS: each key reports its own type).
    moto_replicate = kms_models.KmsBackend.replicate_key

    def replicate_key(self: Any, key_id: str, replica_region: str) -> Any:
        replica = moto_replicate(self, key_id, replica_region)
        if replica.multi_region:
            config = replica.multi_region_configuration
            replica.multi_region_configuration = {
                **config, "MultiRegionKeyType": "REPLICA", "ReplicaKeys": list(config["ReplicaKeys"])}
        return replica

    kms_models.KmsBackend.replicate_key = replicate_key

    # AWS refuses to schedule a key that is already pending deletion (KMSInvalidStateException,
    # the deletion date stays); moto schedules it again and moves the date. Callers that retry
    # a ScheduleKeyDeletion whose answer they never got must see AWS's answer.
    from moto.core.exceptions import JsonRESTError

    moto_schedule = kms_models.KmsBackend.schedule_key_deletion

    def schedule_key_deletion(self: Any, key_id: str, pending_window_in_days: int) -> Any:
        key = self.keys.get(self.get_key_id(key_id))
        if key is not None and key.key_state in ("PendingDeletion", "PendingReplicaDeletion"):
            raise JsonRESTError("KMSInvalidStateException", f"{key.arn} is pending deletion.")
        # AWS's key-state table: a key being created or updated (a replica being made) cannot be scheduled yet.
        if key is not None and key.key_state in ("Creating", "Updating"):
            raise JsonRESTError("KMSInvalidStateException", f"{key.arn} is {key.key_state}.")
        return moto_schedule(self, key_id, pending_window_in_days)

    kms_models.KmsBackend.schedule_key_deletion = schedule_key_deletion

    # AWS refuses to cancel the deletion of a key that is not pending deletion
    # (KMSInvalidStateException); moto disables it again. A rerun of a cancellation that went
    # through must see AWS's answer.
    moto_cancel = kms_models.KmsBackend.cancel_key_deletion

    def cancel_key_deletion(self: Any, key_id: str) -> Any:
        key = self.keys.get(self.get_key_id(key_id))
        if key is not None and key.key_state not in ("PendingDeletion", "PendingReplicaDeletion"):
            raise JsonRESTError("KMSInvalidStateException", f"{key.arn} is {key.key_state}.")
        return moto_cancel(self, key_id)

    kms_models.KmsBackend.cancel_key_deletion = cancel_key_deletion


def defer_private_keys() -> None:
    """moto makes an RSA-2048 private key for every CreateKey, symmetric keys included (~90 ms of
    CPU each on a busy 2-core machine, most of what CreateKey costs). Only Sign, Verify and
    GetPublicKey ever use it: make it when one of them first asks. Answers are unchanged.
    """
    import moto.kms.models as kms_models

    make = kms_models.generate_private_key

    class DeferredPrivateKey:
        def __init__(self, key_spec: str) -> None:
            self.key_spec = key_spec
            self.made: Any = None

        def __getattr__(self, name: str) -> Any:
            # Only names the instance lacks land here; copy() and pickling probe dunder names.
            if name.startswith("__"):
                raise AttributeError(name)
            if self.made is None:
                self.made = make(self.key_spec)
            return getattr(self.made, name)

    kms_models.generate_private_key = DeferredPrivateKey


class Listener:
    """The HTTP server on a fixed port, which an outage closes and later opens again.

    While closed, new connections are refused by the kernel (ECONNREFUSED), as when AWS's
    endpoint is unreachable; moto lives on in this process, so nothing it holds is lost.
    """

    def __init__(self, app: Any, layer: FaultLayer, port: int, fd: int) -> None:
        from werkzeug.serving import make_server

        handler = skewed_handler(layer)
        self.make_server = lambda *args, **kwargs: make_server(*args, request_handler=handler, **kwargs)
        self.app = app
        self.layer = layer
        self.port = port
        self.server = self.make_server("127.0.0.1", port, app, threaded=True, fd=fd)
        self.reopen_at: float | None = None
        self.lock = threading.Lock()
        layer.start_outage = self.start_outage

    def serve(self) -> None:
        """Serves until stopped; an outage ends one serve_forever() and the loop listens again."""
        while True:
            self.server.serve_forever()
            self.server.server_close()
            with self.lock:
                reopen_at, self.reopen_at = self.reopen_at, None
            if reopen_at is None:
                return
            time.sleep(max(0.0, reopen_at - time.monotonic()))
            self.server = self.listen_again()
            self.layer.in_outage.clear()
            print(f"fault_moto listening again on port {self.port}", file=sys.stderr, flush=True)

    def start_outage(self, seconds: float) -> None:
        threading.Thread(target=self.close_for, args=(seconds,), daemon=True).start()

    def close_for(self, seconds: float) -> None:
        # Let the control request's answer leave first.
        time.sleep(0.2)
        with self.lock:
            self.reopen_at = time.monotonic() + seconds
        self.layer.in_outage.set()
        print(f"fault_moto refusing connections for {seconds:g} s", file=sys.stderr, flush=True)
        self.server.shutdown()

    def listen_again(self) -> Any:
        deadline = time.monotonic() + 30
        while True:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind(("127.0.0.1", self.port))
            except OSError:
                listener.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
                continue
            listener.listen(128)
            server = self.make_server("127.0.0.1", self.port, self.app, threaded=True, fd=listener.fileno())
            listener.close()
            return server


def skewed_handler(layer: FaultLayer) -> type:
    """werkzeug's request handler, with the Date header on the layer's clock (AWS's, when skewed)."""
    from werkzeug.serving import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        def date_time_string(self, timestamp: float | None = None) -> str:
            offset = layer.clock_offset or 0.0
            return formatdate((time.time() if timestamp is None else timestamp) + offset, usegmt=True)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    parser.add_argument("--port-file", help="file to write the port to, once the server listens")
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    parser.add_argument("--quiet", action="store_true", help="do not log every request to stderr")
    args = parser.parse_args(argv)

    # Bind and listen first: the kernel then accepts connections, and there is no window in
    # which another process could take a port we only probed.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(128)
    port = listener.getsockname()[1]
    # moto builds some URLs pointing at itself from MOTO_PORT (as moto_server does).
    os.environ.setdefault("MOTO_PORT", str(port))

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    if args.quiet:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    use_aws_key_ids()
    defer_private_keys()
    moto_app = DomainDispatcherApplication(create_backend_app)
    # run_simple() only takes a pre-bound socket through the reloader's environment
    # protocol; make_server() is what run_simple() calls, and accepts the fd directly.
    layer = FaultLayer(moto_app)
    server = Listener(layer, layer, port, listener.fileno())
    listener.close()  # the server holds its own duplicate of the descriptor

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Foundation.Process on Linux starts children with the spawning thread's signal mask,
    # in which SIGTERM is blocked: without this, terminate() from a Swift test does nothing.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    if args.parent_pid:
        threading.Thread(target=watch_parent, args=(args.parent_pid,), daemon=True).start()
    if args.port_file:
        write_port_file(args.port_file, port)
    print(f"fault_moto listening on http://127.0.0.1:{port}", file=sys.stderr, flush=True)
    try:
        server.serve()
    except SystemExit:
        pass
    finally:
        server.server.server_close()


if __name__ == "__main__":
    main()
