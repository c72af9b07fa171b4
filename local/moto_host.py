"""The AWS side of the local runtime: moto's server in its own process, with the local seams.

``python -m local.moto_host`` serves moto's emulated AWS APIs on one loopback port (a process of
its own, so its GIL stays away from the gateways) and adds what a local system needs on top:

- every Lambda invoke moto makes (``lambda:Invoke`` from code, a Step Functions task, an S3 or
  SNS notification) is sent to the runtime's function workers instead of moto's "simple"
  Lambda, which only echoes its input;
- presigned URLs and POST policies are checked the way S3 checks them (``local.s3_policy``);
- ``/_local/mailbox`` lists the emails SES "sent" (a dev mailbox for verification codes);
- the emulated state is pickled to a file on shutdown (and every few seconds while requests
  arrive) and loaded on start, so data survives a restart.

Configuration comes from environment variables set by the runtime (see ``local.services``).
"""

from __future__ import annotations

import argparse
import contextlib
import copyreg
import email
import io
import json
import logging
import os
import pickle
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from local.dynamodb_index import install_dynamodb_index

# Services whose state is kept across restarts (the rest is recreated from the templates).
PERSISTED_SERVICES = (
    "dynamodb",
    "s3",
    "sqs",
    "sns",
    "secretsmanager",
    "ses",
    "stepfunctions",
    "ssm",
    "kms",
    "events",
    "cognito-idp",
    "kinesis",
)
SNAPSHOT_INTERVAL_SECONDS = 5.0
_STANDARD_BACKEND_DICT_ATTRIBUTES = {"backend", "service_name", "_use_boto3_regions", "_additional_regions"}

# Threads' locks cannot be pickled; a restored backend gets fresh ones.
copyreg.pickle(type(threading.RLock()), lambda _lock: (threading.RLock, ()))
copyreg.pickle(type(threading.Lock()), lambda _lock: (threading.Lock, ()))


class InvokeBridge:
    """Sends Lambda invocations to the runtime's internal invoke endpoint."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def invoke(
        self, function: str, payload: bytes, invocation_type: str = "RequestResponse", source: str = "lambda:Invoke"
    ) -> tuple[int, bytes, str | None]:
        """(status, payload, function error) from the runtime; 404 when no such function runs locally."""
        request = urllib.request.Request(  # noqa: S310 - a loopback URL the runtime gave us
            f"{self.base_url}/invoke/{quote(function, safe='')}",
            data=payload,
            method="POST",
            headers={"X-Amz-Invocation-Type": invocation_type, "X-Local-Source": source},
        )
        try:
            with urllib.request.urlopen(request, timeout=960) as response:  # noqa: S310
                return response.status, response.read(), response.headers.get("X-Amz-Function-Error")
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers.get("X-Amz-Function-Error")


def install_lambda_seams(bridge: InvokeBridge) -> None:
    """Route moto's Lambda invocations (API, Step Functions, S3 and SNS notifications) to local functions."""
    from moto.awslambda.exceptions import UnknownFunctionException
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.s3 import notifications
    from moto.sns.models import Subscription

    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        invocation_type = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        payload = body if isinstance(body, bytes) else str(body or "{}").encode()
        status, result, error = bridge.invoke(function_name, payload, invocation_type)
        if status == 404:
            raise UnknownFunctionException(function_name)
        if error:
            response_headers["x-amz-function-error"] = error
        return result

    setattr(LambdaSimpleBackend, "invoke", invoke)  # noqa: B010 - replacing moto's method is the point

    def invoke_from_s3(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        with contextlib.suppress(OSError):
            bridge.invoke(fn_arn, json.dumps(event_body).encode(), "Event", source="s3")

    notifications._invoke_awslambda = invoke_from_s3

    original_publish = Subscription.publish

    def publish(
        self: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        if self.protocol != "lambda":
            return original_publish(self, message, message_id, subject, message_attributes, *args, **kwargs)
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return None
        event = {
            "Records": [
                {
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": self.arn,
                    "EventSource": "aws:sns",
                    "Sns": {
                        "SignatureVersion": "1",
                        "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                        "Signature": "",
                        "SigningCertUrl": "",
                        "MessageId": message_id,
                        "Message": message,
                        "MessageAttributes": {
                            name: {
                                "Type": attr.get("DataType", "String"),
                                "Value": attr.get("StringValue", attr.get("BinaryValue")),
                            }
                            for name, attr in (message_attributes or {}).items()
                        },
                        "Type": "Notification",
                        "UnsubscribeUrl": "",
                        "TopicArn": self.topic.arn,
                        "Subject": subject,
                    },
                }
            ]
        }
        with contextlib.suppress(OSError):
            bridge.invoke(self.endpoint, json.dumps(event).encode(), "Event", source="sns")
        return None

    setattr(Subscription, "publish", publish)  # noqa: B010


def install_mail_timestamps() -> None:
    """Stamp each captured email with the time it was sent (moto keeps only the order)."""
    from moto.ses import models

    for cls in (models.Message, models.RawMessage, models.TemplateMessage):
        original = cls.__init__

        def init(self: Any, *args: Any, __original: Callable[..., None] = original, **kwargs: Any) -> None:
            __original(self, *args, **kwargs)
            self.sent_at = time.time()

        setattr(cls, "__init__", init)  # noqa: B010


def mailbox() -> list[dict[str, Any]]:
    """Every email SES accepted, oldest first, in a shape a person (or a test) can read."""
    from moto.ses.models import RawMessage, TemplateMessage, ses_backends

    messages: list[dict[str, Any]] = []
    for account_backends in list(ses_backends.values()):
        for region, backend in list(account_backends.items()):
            for message in list(backend.sent_messages):
                entry: dict[str, Any] = {
                    "id": message.id,
                    "region": region,
                    "source": message.source,
                    "sent_at": getattr(message, "sent_at", None),
                }
                if isinstance(message, RawMessage):
                    parsed = email.message_from_string(message.raw_data)
                    body = parsed.get_payload(decode=False)
                    if parsed.is_multipart():
                        parts = [p for p in parsed.walk() if p.get_content_maintype() == "text"]
                        payload = parts[0].get_payload(decode=True) if parts else b""
                        body = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
                    entry.update(to=list(message.destinations), subject=parsed.get("Subject", ""), body=body)
                elif isinstance(message, TemplateMessage):
                    entry.update(
                        to=_recipients(message.destinations),
                        template=message.template,
                        template_data=message.template_data,
                    )
                else:
                    entry.update(to=_recipients(message.destinations), subject=message.subject, body=message.body)
                messages.append(entry)
    messages.sort(key=lambda m: m.get("sent_at") or 0)
    return messages


def _recipients(destinations: Any) -> list[str]:
    if isinstance(destinations, dict):
        return [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(key, [])]
    return list(destinations or [])


def clear_mailbox() -> None:
    from moto.ses.models import ses_backends

    for account_backends in ses_backends.values():
        for backend in account_backends.values():
            backend.sent_messages.clear()


# moto's DynamoDB backend is not written for concurrent requests (the server is threaded): a
# query iterating a table while another thread writes to it fails with "dictionary changed size
# during iteration". DynamoDB requests are served one at a time; none of them calls out.
_DYNAMODB_LOCK = threading.Lock()


class OperationStats:
    """Count, wall and CPU time of each DynamoDB operation served (``GET /_local/stats``).

    DynamoDB requests run one at a time, so where this process's CPU goes under load is the
    question a benchmark asks; ``DELETE /_local/stats`` starts a new count.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_operation: dict[str, list[float]] = {}

    def add(self, operation: str, wall: float, cpu: float) -> None:
        with self.lock:
            entry = self.by_operation.setdefault(operation, [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += wall
            entry[2] += cpu

    def report(self) -> dict[str, Any]:
        with self.lock:
            operations = {
                name: {"count": int(c), "wall_ms": round(w * 1000, 1), "cpu_ms": round(u * 1000, 1)}
                for name, (c, w, u) in sorted(self.by_operation.items())
            }
        usage = os.times()
        return {"operations": operations, "process_cpu_s": round(usage.user + usage.system, 2)}

    def reset(self) -> None:
        with self.lock:
            self.by_operation.clear()


def _is_dynamodb(environ: dict[str, Any]) -> bool:
    return str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(("DynamoDB_", "DynamoDBStreams_"))


def install_dynamodb_seams() -> None:
    """TransactWriteItems without moto's copy of every table it touches; queries by key (``local.dynamodb_index``).

    moto deep-copies each table of a transaction (items, indexes, the stream's records) to roll
    back a failed condition: the cost grows with the table, so under load every message took
    longer than the last (a chat table of a few thousand items: hundreds of milliseconds per
    send). Here every condition is evaluated first and the writes applied only if all hold, so
    there is nothing to roll back; only the items a write touches are kept, to restore them if
    an expression turns out invalid halfway (moto validates update expressions as it applies
    them).
    """
    import copy

    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        seen: set[tuple[str, str]] = set()
        errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
        writes: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        for entry in transact_items:
            if len(entry) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(entry.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                errors.append(("ValueError", "Unsupported transaction operation", None))
                continue
            table_name = op["TableName"]
            if op_type == "Put":
                table = self.get_table(table_name)
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            identity = (str(table_name), str(dict(sorted(key.items()))))
            if identity in seen:
                raise MultipleTransactionsException()
            seen.add(identity)
            current = self.get_item(table_name, key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                check = get_filter_expression(
                    condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                if not check.expr(current):
                    old = None
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        old = current.to_json()["Attributes"]
                    errors.append(("ConditionalCheckFailed", ConditionalCheckFailed().message, old))
                    continue
            errors.append((None, None, None))
            if op_type != "ConditionCheck":
                writes.append((op_type, op, key))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        before = [(op["TableName"], key, copy.deepcopy(self.get_item(op["TableName"], key))) for _, op, key in writes]
        try:
            for op_type, op, key in writes:
                if op_type == "Put":
                    self.put_item(op["TableName"], op["Item"])
                elif op_type == "Delete":
                    self.delete_item(op["TableName"], key)
                else:
                    self.update_item(
                        op["TableName"],
                        key,
                        update_expression=op["UpdateExpression"],
                        expression_attribute_names=op.get("ExpressionAttributeNames"),
                        expression_attribute_values=op.get("ExpressionAttributeValues"),
                    )
        except Exception:
            for table_name, key, old in before:
                if old is None:
                    self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, old.to_json()["Attributes"])
            raise

    setattr(DynamoDBBackend, "transact_write_items", transact_write_items)  # noqa: B010 - the seam
    install_dynamodb_index()


_SCALAR_TYPES = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_SET_TYPES = ("SS", "NS")


def _plain_attribute_value(value: Any) -> bool:
    """Whether moto's serializer would write this AttributeValue exactly as it is.

    True for the one-key dicts of strings, numbers (moto keeps them as strings), booleans,
    nulls, string and number sets, and maps and lists of those. Binary values are left to
    moto (it base64-encodes them), as is anything of another shape.
    """
    if not isinstance(value, dict) or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind in _SCALAR_TYPES:
        return isinstance(inner, _SCALAR_TYPES[kind])
    if kind in _SET_TYPES:
        return isinstance(inner, list) and all(isinstance(v, str) for v in inner)
    if kind == "M":
        return isinstance(inner, dict) and all(
            isinstance(k, str) and _plain_attribute_value(v) for k, v in inner.items()
        )
    if kind == "L":
        return isinstance(inner, list) and all(_plain_attribute_value(v) for v in inner)
    return False


def install_dynamodb_serializer() -> None:
    """Write DynamoDB's attribute values without walking their shape, member by member.

    moto's response serializer visits every member of the ``AttributeValue`` structure (S, N,
    B, SS, NS, BS, M, L, NULL, BOOL) for every attribute of every item through its generic value
    picker: most of the CPU of a ``Query`` (about 3/4 of a five-item answer) and of a stream's
    ``GetRecords``. An attribute value moto already holds in its wire form is written as it is;
    anything else (binary values, an unexpected shape) still goes through moto's own path.
    """
    from moto.core.serialize import BaseJSONSerializer

    original = _installed_serializer.setdefault("structure", BaseJSONSerializer._serialize_type_structure)

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and _plain_attribute_value(value):
            serialized[self.get_serialized_name(shape, key)] = value
            return
        original(self, serialized, value, shape, key)

    setattr(BaseJSONSerializer, "_serialize_type_structure", serialize_structure)  # noqa: B010 - the seam


_installed_serializer: dict[str, Any] = {}


class StateStore:
    """Pickles moto's backends to one file and loads them back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.changes = 0
        self.saved_changes = 0

    def load(self) -> list[str]:
        from moto.backends import get_backend

        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            saved: dict[str, dict[str, Any]] = pickle.load(handle)  # noqa: S301 - our own file
        restored = []
        for service, state in saved.items():
            backend_dict = get_backend(service)
            backend_dict.clear()
            backend_dict.update(state["backends"])
            for name, value in state["attributes"].items():
                setattr(backend_dict, name, value)
            restored.append(service)
        return restored

    def save(self) -> None:
        from moto.backends import get_backend

        with self.lock:
            changes = self.changes
            state: dict[str, dict[str, Any]] = {}
            for service in PERSISTED_SERVICES:
                backend_dict = get_backend(service)
                attributes = {k: v for k, v in vars(backend_dict).items() if k not in _STANDARD_BACKEND_DICT_ATTRIBUTES}
                for _attempt in range(5):
                    try:  # another thread may change a backend while it is copied: try again
                        state[service] = {
                            "backends": pickle.loads(pickle.dumps(dict(backend_dict))),  # noqa: S301
                            "attributes": attributes,
                        }
                        break
                    except RuntimeError:
                        time.sleep(0.05)
                    except (TypeError, AttributeError, pickle.PicklingError) as error:
                        print(f"moto state of {service} cannot be saved: {error}", file=sys.stderr)
                        break
            partial = self.path.with_suffix(".partial")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as handle:
                pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
            partial.replace(self.path)
            self.saved_changes = changes


class LocalMiddleware:
    """In front of moto: the runtime's own endpoints and S3's upload checks."""

    def __init__(
        self, app: Callable[..., Iterable[bytes]], credentials: dict[str, str], store: StateStore | None
    ) -> None:
        self.app = app
        self.credentials = credentials
        self.store = store
        self.stats = OperationStats()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_local/"):
            return self._local(environ, start_response, path)
        if self.store is not None and _may_write(environ):
            self.store.changes += 1
        bucket = self._bucket(environ, path)
        if bucket is not None:
            refusal = self._check_s3(environ, bucket)
            if refusal is not None:
                return refusal(start_response)
            origin = environ.get("HTTP_ORIGIN")
            if origin and environ.get("REQUEST_METHOD") != "OPTIONS":
                return self.app(environ, _with_cors(start_response, bucket, origin, environ.get("REQUEST_METHOD", "")))
        if _is_dynamodb(environ):
            with _DYNAMODB_LOCK:
                wall, cpu = time.perf_counter(), time.thread_time()
                body = list(self.app(environ, start_response))
                operation = str(environ.get("HTTP_X_AMZ_TARGET", "")).rsplit(".", 1)[-1]
                self.stats.add(operation, time.perf_counter() - wall, time.thread_time() - cpu)
                return body
        return self.app(environ, start_response)

    def _local(self, environ: dict[str, Any], start_response: Callable[..., Any], path: str) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/_local/health":
            return _json(start_response, 200, {"status": "ok"})
        if path == "/_local/mailbox" and method == "GET":
            query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
            messages = mailbox()
            if query.get("to"):
                messages = [m for m in messages if query["to"].lower() in (a.lower() for a in m.get("to", []))]
            return _json(start_response, 200, {"messages": messages})
        if path == "/_local/mailbox" and method == "DELETE":
            clear_mailbox()
            return _json(start_response, 204, None)
        if path == "/_local/stats" and method == "GET":
            return _json(start_response, 200, self.stats.report())
        if path == "/_local/stats" and method == "DELETE":
            self.stats.reset()
            return _json(start_response, 204, None)
        if path == "/_local/snapshot" and method == "POST" and self.store is not None:
            self.store.save()
            return _json(start_response, 204, None)
        return _json(start_response, 404, {"message": "Not Found"})

    @staticmethod
    def _bucket(environ: dict[str, Any], path: str) -> str | None:
        """The bucket of an unsigned-header S3 request (presigned URL or POST form), if it names one."""
        if environ.get("HTTP_AUTHORIZATION"):
            return None
        name = path.lstrip("/").split("/", 1)[0]
        if not name:
            return None
        from moto.s3.models import s3_backends

        return name if name in s3_backends.bucket_accounts else None

    def _check_s3(self, environ: dict[str, Any], bucket: str) -> Callable[[Callable[..., Any]], Iterable[bytes]] | None:
        from local import s3_policy

        method = environ.get("REQUEST_METHOD", "GET")
        if method == "OPTIONS":
            # A CORS preflight carries no credentials, even to a presigned URL's query: S3 answers
            # it from the bucket's CORS rules alone (moto does that part).
            return None
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        raw_path, _, raw_query = raw_uri.partition("?")
        query = parse_qsl(raw_query, keep_blank_values=True)
        now = datetime.now(UTC)
        error = None
        if s3_policy.is_presigned(query):
            request = s3_policy.PresignedRequest(method=method, raw_path=raw_path, query=query, headers=headers)
            error = s3_policy.check_presigned(request, self.credentials, now)
        elif method == "POST" and headers.get("content-type", "").startswith("multipart/form-data"):
            error = self._check_post(environ, bucket, now)
        if error is None:
            return None
        cors = _cors_headers(bucket, headers.get("origin"), method)

        def respond(start_response: Callable[..., Any]) -> Iterable[bytes]:
            body = error.to_xml()
            start_response(
                f"{error.status} {_REASONS.get(error.status, 'Error')}",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(body))), *cors],
            )
            return [body]

        return respond

    def _check_post(self, environ: dict[str, Any], bucket: str, now: datetime) -> Any:
        from werkzeug.formparser import parse_form_data

        from local import s3_policy

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        copy = dict(environ)
        copy["wsgi.input"] = io.BytesIO(body)
        _stream, form, files = parse_form_data(copy)
        upload = files.get("file")
        size = None
        name = None
        if upload is not None:
            data = upload.stream.read()
            size, name = len(data), upload.filename
        fields = {key: form[key] for key in form}
        return s3_policy.check_post_policy(bucket, fields, name, size, self.credentials, now)


_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found"}
_READ_PREFIXES = ("Get", "List", "Describe", "Receive", "Scan", "Query", "BatchGet", "Head")


def _may_write(environ: dict[str, Any]) -> bool:
    """Whether a request may change state (pollers' reads must not trigger a snapshot every few seconds)."""
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS"):
        return False
    operation = str(environ.get("HTTP_X_AMZ_TARGET", "")).rsplit(".", 1)[-1]
    return not operation.startswith(_READ_PREFIXES)


def _cors_headers(bucket: str, origin: str | None, method: str) -> list[tuple[str, str]]:
    """The CORS headers S3 adds to an error when the bucket's CORS rules allow the origin."""
    if not origin:
        return []
    from moto.s3.models import s3_backends
    from moto.s3.utils import cors_matches_origin

    account = s3_backends.bucket_accounts.get(bucket)
    if account is None:
        return []
    partition, account_id = account
    backend = s3_backends[account_id][partition]
    for rule in backend.buckets[bucket].cors:
        if cors_matches_origin(origin, rule.allowed_origins) and method in rule.allowed_methods:
            headers = [
                ("Access-Control-Allow-Origin", "*" if "*" in rule.allowed_origins else origin),
                ("Access-Control-Allow-Methods", ", ".join(rule.allowed_methods)),
                ("Vary", "Origin"),
            ]
            if rule.exposed_headers:
                headers.append(("Access-Control-Expose-Headers", ", ".join(rule.exposed_headers)))
            return headers
    return []


def _with_cors(start_response: Callable[..., Any], bucket: str, origin: str, method: str) -> Callable[..., Any]:
    """S3 puts the CORS headers of the matching rule on every answer to a cross-origin request;
    moto does for some operations only (not a browser's POST form upload)."""

    def start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
        if not any(name.lower() == "access-control-allow-origin" for name, _ in headers):
            headers = [*headers, *_cors_headers(bucket, origin, method)]
        return start_response(status, headers, *args)

    return start


def _json(start_response: Callable[..., Any], status: int, body: Any) -> Iterable[bytes]:
    data = b"" if body is None else json.dumps(body).encode()
    reason = {200: "OK", 204: "No Content", 404: "Not Found"}.get(status, "OK")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.moto_host", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--invoke-url", required=True, help="the runtime's internal invoke endpoint")
    parser.add_argument("--state-file", type=Path, help="pickle moto's state here (omit: nothing survives a restart)")
    args = parser.parse_args(argv)

    # Read by moto at import: its own port (Step Functions calls itself), no catch-all CORS
    # (S3 answers with the bucket's CORS rules, as S3 does).
    os.environ["MOTO_PORT"] = str(args.port)
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    credentials = json.loads(os.environ.get("LOCAL_S3_CREDENTIALS", "{}"))

    from moto.core.config import default_user_config
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    default_user_config["lambda"] = {"use_docker": False}
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    install_lambda_seams(InvokeBridge(args.invoke_url))
    install_dynamodb_seams()
    install_dynamodb_serializer()
    install_mail_timestamps()

    store = StateStore(args.state_file) if args.state_file else None
    if store is not None:
        try:
            restored = store.load()
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as error:
            print(f"saved AWS state in {args.state_file} could not be read ({error}); starting empty", file=sys.stderr)
            restored = []
        if restored:
            print(f"restored AWS state: {', '.join(restored)}", file=sys.stderr)

    # One log line per request (pollers ask every second) would only fill the log.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = LocalMiddleware(DomainDispatcherApplication(create_backend_app), credentials, store)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    stopping = threading.Event()

    def stop(*_: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    parent = os.getppid()

    def watch() -> None:
        """Snapshot while requests arrive; stop when the runtime that started us is gone."""
        while not stopping.wait(SNAPSHOT_INTERVAL_SECONDS if store else 1.0):
            if os.getppid() != parent:
                stop()
            elif store is not None and store.changes != store.saved_changes:
                try:
                    store.save()
                except OSError as error:
                    print(f"could not save AWS state: {error}", file=sys.stderr)

    threading.Thread(target=watch, daemon=True).start()
    print(f"ready on {args.host}:{args.port}", flush=True)
    server.serve_forever(poll_interval=0.2)
    if store is not None:
        store.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
