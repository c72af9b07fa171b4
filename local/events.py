"""Lambda's event source mappings, run against the emulated queues and streams.

An SQS mapping long-polls its queue and invokes the function with batches of Lambda's SQS event
shape; on success the batch is deleted, except the items the function names in
``batchItemFailures`` (with ``ReportBatchItemFailures``); on failure nothing is deleted, so the
messages come back after the queue's visibility timeout and moto moves them to the DLQ once
``maxReceiveCount`` is reached, as SQS does. A DynamoDB Streams mapping reads each shard in order
and retries a failed batch (halving it with ``BisectBatchOnFunctionError``) up to
``MaximumRetryAttempts``, then sends the batch's description to the ``OnFailure`` destination.
Both honour the mapping's filter criteria (EventBridge patterns). Records filtered out are
dropped (and, for SQS, deleted), as Lambda does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.functions import FunctionRuntime
from local.topology import EventSourceMappingSpec

log = logging.getLogger("local.events")

SQS_WAIT_SECONDS = 2
# Lambda polls a DynamoDB stream's shards four times a second; an idle poller here does the same
# (0.5 s was half that rate and up to half a second of every delivery's latency).
STREAM_POLL_SECONDS = 0.25


# -- filter patterns (the subset of EventBridge patterns Lambda filtering supports) -------------


def matches_pattern(pattern: dict[str, Any], event: Any) -> bool:
    """True when ``event`` matches every key of ``pattern``."""
    for key, rule in pattern.items():
        present = isinstance(event, dict) and key in event
        value = event.get(key) if isinstance(event, dict) else None
        if isinstance(rule, dict):
            if not isinstance(value, dict) or not matches_pattern(rule, value):
                return False
        elif isinstance(rule, list):
            if not _matches_any(rule, value, present):
                return False
        else:
            return False
    return True


def _matches_any(rules: list[Any], value: Any, present: bool) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_matches_rule(rule, v, present) for rule in rules for v in (values or [None]))


def _matches_rule(rule: Any, value: Any, present: bool) -> bool:
    if not isinstance(rule, dict):
        return present and value == rule
    if "exists" in rule:
        return present == bool(rule["exists"])
    if not present:
        return False
    if "prefix" in rule:
        prefix = rule["prefix"]
        if isinstance(prefix, dict):
            return isinstance(value, str) and value.lower().startswith(
                str(prefix.get("equals-ignore-case", "")).lower()
            )
        return isinstance(value, str) and value.startswith(prefix)
    if "suffix" in rule:
        return isinstance(value, str) and value.endswith(rule["suffix"])
    if "equals-ignore-case" in rule:
        return isinstance(value, str) and value.lower() == str(rule["equals-ignore-case"]).lower()
    if "anything-but" in rule:
        excluded = rule["anything-but"]
        if isinstance(excluded, dict):
            return not _matches_rule(excluded, value, present)
        excluded = excluded if isinstance(excluded, list) else [excluded]
        return value not in excluded
    if "numeric" in rule:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        terms = rule["numeric"]
        checks = {"<": value.__lt__, "<=": value.__le__, "=": value.__eq__, ">": value.__gt__, ">=": value.__ge__}
        return all(checks[terms[i]](terms[i + 1]) for i in range(0, len(terms), 2))
    return False


def passes(filters: tuple[dict[str, Any], ...], record: dict[str, Any]) -> bool:
    return not filters or any(matches_pattern(f, record) for f in filters)


# -- shared ---------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """boto3's parsed records -> the JSON Lambda receives (binary as base64, times as epoch)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, set):
        return [_jsonable(v) for v in sorted(value, key=str)]
    return value


def _failed_items(result: Any) -> list[str] | None:
    """The ``itemIdentifier``s a function reported; None when the response means "whole batch failed"."""
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return []
    identifiers = []
    for failure in result["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier:
            return None
        identifiers.append(str(identifier))
    return identifiers


class SqsPoller:
    """One SQS event source mapping."""

    def __init__(self, mapping: EventSourceMappingSpec, functions: FunctionRuntime, client: Any, region: str) -> None:
        self.mapping = mapping
        self.functions = functions
        self.client = client
        self.region = region
        self.queue_name = mapping.source_arn.split(":")[-1]
        self.queue_url = ""

    async def run(self) -> None:
        self.queue_url = (await asyncio.to_thread(self.client.get_queue_url, QueueName=self.queue_name))["QueueUrl"]
        loops = [asyncio.create_task(self._loop()) for _ in range(max(1, min(self.mapping.maximum_concurrency, 5)))]
        try:
            await asyncio.gather(*loops)
        finally:
            for loop in loops:
                loop.cancel()

    async def _receive(self, wanted: int, wait: int) -> list[dict[str, Any]]:
        response = await asyncio.to_thread(
            self.client.receive_message,
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(10, wanted)),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    async def _loop(self) -> None:
        mapping = self.mapping
        while True:
            try:
                messages = await self._receive(mapping.batch_size, SQS_WAIT_SECONDS)
                if not messages:
                    continue
                deadline = time.monotonic() + mapping.batching_window
                while len(messages) < mapping.batch_size and time.monotonic() < deadline:
                    more = await self._receive(mapping.batch_size - len(messages), 1)
                    messages += more
                await self._deliver(messages)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("sqs poller %s: %s", self.queue_name, error)
                await asyncio.sleep(1)

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": base64.b64encode(value["BinaryValue"]).decode() if value.get("BinaryValue") else None,
                "stringListValues": value.get("StringListValues", []),
                "binaryListValues": [base64.b64encode(v).decode() for v in value.get("BinaryListValues", [])],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": attributes,
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.mapping.source_arn,
            "awsRegion": self.region,
        }

    async def _deliver(self, messages: list[dict[str, Any]]) -> None:
        records = [self.record(m) for m in messages]
        selected: list[dict[str, Any]] = []
        dropped: list[dict[str, Any]] = []
        for record in records:
            view = dict(record)
            with contextlib.suppress(ValueError):
                view["body"] = json.loads(record["body"])
            (selected if passes(self.mapping.filters, view) else dropped).append(record)
        await self._delete(dropped)
        if not selected:
            return
        invocation = await self.functions.invoke(
            self.mapping.function, {"Records": selected}, trigger=f"sqs {self.queue_name} ({len(selected)})"
        )
        if not invocation.ok:
            return  # back on the queue after its visibility timeout
        failed = _failed_items(invocation.result()) if self.mapping.report_batch_item_failures else []
        if failed is None:
            return
        await self._delete([r for r in selected if r["messageId"] not in set(failed)])

    async def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            await asyncio.to_thread(
                self.client.delete_message_batch,
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )


class Checkpoints:
    """The last stream record each mapping finished, kept with the emulated state across restarts."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data: dict[str, str] = {}
        if path is not None and path.exists():
            with contextlib.suppress(ValueError, OSError):
                self.data = json.loads(path.read_text())

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, sequence_number: str) -> None:
        self.data[key] = sequence_number
        if self.path is not None:
            partial = self.path.with_suffix(".partial")
            partial.write_text(json.dumps(self.data))
            partial.replace(self.path)


class StreamPoller:
    """One DynamoDB Streams event source mapping."""

    def __init__(
        self,
        mapping: EventSourceMappingSpec,
        functions: FunctionRuntime,
        client: Any,
        sqs: Any,
        checkpoints: Checkpoints,
        region: str,
    ) -> None:
        self.mapping = mapping
        self.functions = functions
        self.client = client
        self.sqs = sqs
        self.checkpoints = checkpoints
        self.region = region
        self.shards: dict[str, asyncio.Task[None]] = {}
        self.initial: dict[str, str] = {}

    async def run(self) -> None:
        try:
            while True:
                description = await asyncio.to_thread(self.client.describe_stream, StreamArn=self.mapping.source_arn)
                for shard in description["StreamDescription"].get("Shards", []):
                    shard_id = shard["ShardId"]
                    if shard_id not in self.shards:
                        self.shards[shard_id] = asyncio.create_task(self._shard(shard_id))
                await asyncio.sleep(30)
        finally:
            for task in self.shards.values():
                task.cancel()

    def _key(self, shard_id: str) -> str:
        return f"{self.mapping.logical_id}/{shard_id}"

    async def _iterator(self, shard_id: str) -> str:
        checkpoint = self.checkpoints.get(self._key(shard_id))
        kwargs: dict[str, Any] = {"StreamArn": self.mapping.source_arn, "ShardId": shard_id}
        if checkpoint is not None:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=checkpoint)
        else:
            kwargs["ShardIteratorType"] = (
                "TRIM_HORIZON" if self.mapping.starting_position == "TRIM_HORIZON" else "LATEST"
            )
        response = await asyncio.to_thread(self.client.get_shard_iterator, **kwargs)
        return str(response["ShardIterator"])

    def record(self, raw: dict[str, Any]) -> dict[str, Any]:
        record = _jsonable(raw)
        record["eventSource"] = "aws:dynamodb"
        record["eventSourceARN"] = self.mapping.source_arn
        record.setdefault("awsRegion", self.region)
        return dict(record)

    async def _shard(self, shard_id: str) -> None:
        iterator = self.initial.pop(shard_id, None) or await self._iterator(shard_id)
        while True:
            try:
                response = await asyncio.to_thread(
                    self.client.get_records, ShardIterator=iterator, Limit=self.mapping.batch_size
                )
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("stream poller %s: %s", self.mapping.logical_id, error)
                await asyncio.sleep(1)
                iterator = await self._iterator(shard_id)
                continue
            iterator = response.get("NextShardIterator") or iterator
            records = [self.record(r) for r in response.get("Records", [])]
            if not records:
                await asyncio.sleep(STREAM_POLL_SECONDS)
                continue
            await self._process(shard_id, records)

    async def _process(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        mapping = self.mapping
        pending = list(records)
        size = len(pending)
        attempts = 0
        while pending:
            batch = pending[:size]
            selected = [r for r in batch if passes(mapping.filters, r)]
            if not selected:
                self._done(shard_id, batch)
                pending = pending[len(batch) :]
                continue
            invocation = await self.functions.invoke(
                mapping.function, {"Records": selected}, trigger=f"stream {mapping.logical_id} ({len(selected)})"
            )
            failed_at = None
            if invocation.ok:
                failed = _failed_items(invocation.result()) if mapping.report_batch_item_failures else []
                if failed == []:
                    self._done(shard_id, batch)
                    pending, attempts, size = pending[len(batch) :], 0, len(records)
                    continue
                sequence = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
                failed_at = min((sequence[f] for f in failed or [] if f in sequence), default=0)
                # Everything before the first failed record is done; retry from there.
                self._done(shard_id, batch[:failed_at])
                pending = pending[failed_at:]
                batch = batch[failed_at:]
            attempts += 1
            if 0 <= mapping.maximum_retry_attempts < attempts:
                await self._give_up(shard_id, batch, attempts, invocation.payload)
                self._done(shard_id, batch)
                pending, attempts, size = pending[len(batch) :], 0, len(records)
                continue
            if mapping.bisect_on_error and len(batch) > 1 and failed_at is None:
                size = max(1, len(batch) // 2)
            await asyncio.sleep(min(0.5 * 2**attempts, 30.0))

    def _done(self, shard_id: str, batch: list[dict[str, Any]]) -> None:
        if batch:
            self.checkpoints.set(self._key(shard_id), str(batch[-1]["dynamodb"]["SequenceNumber"]))

    async def _give_up(self, shard_id: str, batch: list[dict[str, Any]], attempts: int, payload: Any) -> None:
        log.warning(
            "stream %s: giving up on %d records after %d attempts", self.mapping.logical_id, len(batch), attempts
        )
        destination = self.mapping.on_failure_arn
        if not destination or ":sqs:" not in destination:
            return
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        function = self.functions.find(self.mapping.function)
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": function.spec.arn if function else self.mapping.function,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                "batchSize": len(batch),
                "streamArn": self.mapping.source_arn,
            },
        }
        queue = destination.split(":")[-1]
        url = (await asyncio.to_thread(self.sqs.get_queue_url, QueueName=queue))["QueueUrl"]
        await asyncio.to_thread(self.sqs.send_message, QueueUrl=url, MessageBody=json.dumps(message))


def _iso(epoch: Any) -> str | None:
    if not isinstance(epoch, (int, float)):
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventSources:
    """Every enabled mapping of the topology, polling until closed."""

    def __init__(
        self,
        mappings: list[EventSourceMappingSpec],
        functions: FunctionRuntime,
        client_factory: Callable[[str], Any],
        checkpoints: Checkpoints,
        region: str,
        warn: Callable[[str], None],
    ) -> None:
        self.tasks: list[asyncio.Task[None]] = []
        self.pollers: list[SqsPoller | StreamPoller] = []
        for mapping in mappings:
            if not mapping.enabled:
                continue
            if mapping.kind == "sqs":
                self.pollers.append(SqsPoller(mapping, functions, client_factory("sqs"), region))
            elif mapping.kind == "dynamodb":
                self.pollers.append(
                    StreamPoller(
                        mapping,
                        functions,
                        client_factory("dynamodbstreams"),
                        client_factory("sqs"),
                        checkpoints,
                        region,
                    )
                )
            else:
                warn(f"event source mapping {mapping.logical_id}: {mapping.kind} sources are not polled locally")

    async def prepare(self) -> None:
        """Take each new stream's starting position now, before any request can write."""
        for poller in self.pollers:
            if isinstance(poller, StreamPoller):
                description = await asyncio.to_thread(
                    poller.client.describe_stream, StreamArn=poller.mapping.source_arn
                )
                for shard in description["StreamDescription"].get("Shards", []):
                    key = poller._key(shard["ShardId"])
                    if poller.checkpoints.get(key) is None:
                        poller.initial[shard["ShardId"]] = await poller._iterator(shard["ShardId"])

    def start(self) -> None:
        self.tasks = [asyncio.create_task(p.run()) for p in self.pollers]

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for poller in self.pollers:
            if isinstance(poller, StreamPoller):
                for task in poller.shards.values():
                    task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
