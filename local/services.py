"""The emulated AWS services: the moto host process, and the resources the templates declare.

Provisioning is a reconciliation, not a one-off: with the state of the last run restored, a
table whose indexes changed in the stack gets them added or removed, a bucket gets the stack's
CORS rules and notifications, a state machine the newly synthesized definition; a table whose
key schema changed is recreated (its items cannot fit the new keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import string
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.assembly import TableSpec
from local.cfn import REGION
from local.topology import BucketSpec, SecretSpec, Topology

# Credentials the functions (and anyone reading .local/endpoints.json) use against the local
# AWS endpoint; the S3 checks recompute presigned signatures with them. They open nothing real.
LOCAL_ACCESS_KEY_ID = "AKIALOCALDEVELOPMENT"
LOCAL_SECRET_ACCESS_KEY = "local-development-secret-not-valid-on-aws"


@dataclass(frozen=True)
class AwsEndpoint:
    """Where the emulated AWS APIs answer, and how to sign for them."""

    url: str
    region: str = REGION
    access_key_id: str = LOCAL_ACCESS_KEY_ID
    secret_access_key: str = LOCAL_SECRET_ACCESS_KEY

    def client(self, service: str, *, attempts: int = 3) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            service,
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(retries={"max_attempts": attempts, "mode": "standard"}, max_pool_connections=20),
        )

    def environment(self) -> dict[str, str]:
        """What a function (or a script) needs to reach these services with an unchanged SDK."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": "local",
            # botocore 1.44 sends DynamoDB Streams calls to an account-based host moto does not route.
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }


class MotoHost:
    """``python -m local.moto_host`` as a child process."""

    def __init__(
        self, host: str, port: int, invoke_url: str, public_host: str, state_file: Path | None, log_path: Path
    ) -> None:
        self.host = host
        self.public_host = public_host
        self.port = port
        self.invoke_url = invoke_url
        self.state_file = state_file
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        """Where this machine reaches it."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def public_url(self) -> str:
        """Where clients and functions reach it (presigned URLs carry this address)."""
        return f"http://{self.public_host}:{self.port}"

    async def start(self, wait_seconds: float = 60.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "local.moto_host",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--invoke-url",
            self.invoke_url,
        ]
        if self.state_file is not None:
            command += ["--state-file", str(self.state_file)]
        environment = {
            **os.environ,
            "LOCAL_S3_CREDENTIALS": json.dumps({LOCAL_ACCESS_KEY_ID: LOCAL_SECRET_ACCESS_KEY}),
            "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }
        environment.pop("AWS_ENDPOINT_URL", None)
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *command, stdout=log, stderr=log, env=environment, start_new_session=True
            )
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise RuntimeError(f"the AWS emulation exited ({self.process.returncode}); see {self.log_path}")
            if await asyncio.to_thread(self._healthy):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the AWS emulation did not start within {wait_seconds:.0f} s; see {self.log_path}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_local/health", timeout=1) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    async def stop(self) -> None:
        """SIGTERM: moto saves its state, then exits."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def _is_missing(error: Exception) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(error, ClientError):
        return False
    code = str(error.response.get("Error", {}).get("Code", ""))
    return code in {
        "ResourceNotFoundException",
        "NotFound",
        "404",
        "NoSuchBucket",
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
    }


def generate_secret(options: dict[str, Any]) -> str:
    """What ``GenerateSecretString`` would produce, from the same options."""
    length = int(options.get("PasswordLength", 32))
    excluded = set(str(options.get("ExcludeCharacters", "")))
    groups = []
    if not options.get("ExcludeUppercase"):
        groups.append(string.ascii_uppercase)
    if not options.get("ExcludeLowercase"):
        groups.append(string.ascii_lowercase)
    if not options.get("ExcludeNumbers"):
        groups.append(string.digits)
    if not options.get("ExcludePunctuation"):
        groups.append("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    if options.get("IncludeSpace"):
        groups.append(" ")
    groups = ["".join(c for c in group if c not in excluded) for group in groups]
    groups = [g for g in groups if g]
    alphabet = "".join(groups)
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        if not options.get("RequireEachIncludedType", True) or length < len(groups):
            break
        if all(any(c in group for c in value) for group in groups):
            break
    template = options.get("SecretStringTemplate")
    key = options.get("GenerateStringKey")
    if template and key:
        document = json.loads(template)
        document[key] = value
        return json.dumps(document)
    return value


class Provisioner:
    """Creates (or reconciles) every resource of the topology in the emulated services."""

    def __init__(self, endpoint: AwsEndpoint, topology: Topology, warn: Callable[[str], None]) -> None:
        self.endpoint = endpoint
        self.topology = topology
        self.warn = warn

    def resources(self) -> None:
        dynamodb = self.endpoint.client("dynamodb")
        for table in self.topology.tables:
            self._table(dynamodb, table)
        secretsmanager = self.endpoint.client("secretsmanager")
        for secret in self.topology.secrets:
            self._secret(secretsmanager, secret)
        sqs = self.endpoint.client("sqs")
        for queue in self.topology.queues:
            url = self._queue(sqs, queue.name, queue.attributes)
            self.topology.resolver.set_physical(queue.stack, queue.logical_id, ref=url, QueueUrl=url)
        sns = self.endpoint.client("sns")
        for topic in self.topology.topics:
            self._topic(sns, topic.name, topic.subscriptions)
        s3 = self.endpoint.client("s3")
        for bucket in self.topology.buckets:
            self._bucket(s3, bucket)
        if self.topology.email_identities:
            ses = self.endpoint.client("ses")
            for identity in self.topology.email_identities:
                if "@" in identity:
                    ses.verify_email_identity(EmailAddress=identity)
                else:
                    ses.verify_domain_identity(Domain=identity)

    def notifications(self) -> None:
        """Bucket notifications last: their queues and topics must exist (S3 sends a test event)."""
        s3 = self.endpoint.client("s3")
        for bucket in self.topology.buckets:
            self._notifications(s3, bucket)

    def _table(self, client: Any, spec: TableSpec) -> None:
        request = spec.create_table_request()
        name = request["TableName"]
        try:
            current = client.describe_table(TableName=name)["Table"]
        except Exception as error:
            if not _is_missing(error):
                raise
            current = None
        if current is not None and (
            current["KeySchema"] != request["KeySchema"]
            or _indexes(current.get("LocalSecondaryIndexes")) != _indexes(request.get("LocalSecondaryIndexes"))
        ):
            self.warn(f"table {name}: its keys changed in the stack; recreating it empty")
            client.delete_table(TableName=name)
            current = None
        if current is None:
            client.create_table(**request)
        else:
            existing = {g["IndexName"] for g in current.get("GlobalSecondaryIndexes", [])}
            wanted = {g["IndexName"]: g for g in request.get("GlobalSecondaryIndexes", [])}
            for index in existing - set(wanted):
                client.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index}}])
            for index in set(wanted) - existing:
                client.update_table(
                    TableName=name,
                    AttributeDefinitions=request["AttributeDefinitions"],
                    GlobalSecondaryIndexUpdates=[{"Create": wanted[index]}],
                )
            stream = current.get("StreamSpecification") or {}
            wanted_view = spec.stream_view_type
            if (stream.get("StreamViewType") if stream.get("StreamEnabled") else None) != wanted_view:
                if stream.get("StreamEnabled"):
                    client.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
                if wanted_view:
                    client.update_table(
                        TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": wanted_view}
                    )
        ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if spec.ttl_attribute and ttl.get("AttributeName") != spec.ttl_attribute:
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )
        described = client.describe_table(TableName=name)["Table"]
        attributes = {"Arn": described["TableArn"]}
        if described.get("LatestStreamArn"):
            attributes["StreamArn"] = described["LatestStreamArn"]
        self.topology.resolver.set_physical(spec.stack, spec.logical_id, **attributes)

    def _secret(self, client: Any, spec: SecretSpec) -> None:
        try:
            arn = client.describe_secret(SecretId=spec.name)["ARN"]
        except Exception as error:
            if not _is_missing(error):
                raise
            value = spec.secret_string if spec.secret_string is not None else generate_secret(spec.generate or {})
            arn = client.create_secret(Name=spec.name, SecretString=value, Description=spec.description)["ARN"]
        self.topology.resolver.set_physical(spec.stack, spec.logical_id, ref=arn, Id=arn)

    @staticmethod
    def _queue(client: Any, name: str, attributes: dict[str, str]) -> str:
        try:
            url = str(client.get_queue_url(QueueName=name)["QueueUrl"])
        except Exception as error:
            if not _is_missing(error):
                raise
            return str(client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
        mutable = {k: v for k, v in attributes.items() if k != "FifoQueue"}
        if mutable:
            client.set_queue_attributes(QueueUrl=url, Attributes=mutable)
        return url

    @staticmethod
    def _topic(client: Any, name: str, subscriptions: tuple[dict[str, Any], ...]) -> None:
        attributes = {"FifoTopic": "true"} if name.endswith(".fifo") else {}
        arn = client.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        existing = {
            (s["Protocol"], s["Endpoint"]) for s in client.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        }
        for subscription in subscriptions:
            key = (subscription["Protocol"], subscription["Endpoint"])
            if key in existing:
                continue
            sub_attributes = {}
            if subscription.get("FilterPolicy"):
                policy = subscription["FilterPolicy"]
                sub_attributes["FilterPolicy"] = policy if isinstance(policy, str) else json.dumps(policy)
            if subscription.get("RawMessageDelivery") is not None:
                sub_attributes["RawMessageDelivery"] = str(subscription["RawMessageDelivery"]).lower()
            client.subscribe(
                TopicArn=arn, Protocol=key[0], Endpoint=key[1], Attributes=sub_attributes, ReturnSubscriptionArn=True
            )

    @staticmethod
    def _bucket(client: Any, spec: BucketSpec) -> None:
        try:
            client.head_bucket(Bucket=spec.name)
        except Exception as error:
            if not _is_missing(error):
                raise
            client.create_bucket(Bucket=spec.name)
        if spec.cors_rules:
            client.put_bucket_cors(Bucket=spec.name, CORSConfiguration={"CORSRules": list(spec.cors_rules)})
        else:
            client.delete_bucket_cors(Bucket=spec.name)

    @staticmethod
    def _notifications(client: Any, spec: BucketSpec) -> None:
        current = client.get_bucket_notification_configuration(Bucket=spec.name)
        current.pop("ResponseMetadata", None)
        if _normalized(current) != _normalized(spec.notifications):
            # S3 (and moto) send an s3:TestEvent to each queue when this changes, as in the cloud.
            client.put_bucket_notification_configuration(Bucket=spec.name, NotificationConfiguration=spec.notifications)

    def state_machines(self) -> None:
        if not self.topology.state_machines:
            return
        client = self.endpoint.client("stepfunctions")
        existing = {
            machine["name"]: machine["stateMachineArn"]
            for page in client.get_paginator("list_state_machines").paginate()
            for machine in page["stateMachines"]
        }
        for machine in self.topology.state_machines:
            if machine.name in existing:
                arn = existing[machine.name]
                client.update_state_machine(
                    stateMachineArn=arn, definition=machine.definition, roleArn=machine.role_arn
                )
            else:
                arn = client.create_state_machine(
                    name=machine.name, definition=machine.definition, roleArn=machine.role_arn, type=machine.kind
                )["stateMachineArn"]
            self.topology.resolver.set_physical(machine.stack, machine.logical_id, ref=arn, Arn=arn)


def _indexes(indexes: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    return sorted((i["IndexName"], json.dumps(i["KeySchema"], sort_keys=True)) for i in indexes or [])


def _normalized(configuration: dict[str, Any]) -> str:
    result: dict[str, Any] = {}
    for kind, entries in configuration.items():
        if not isinstance(entries, list) or not entries:
            continue
        cleaned = []
        for entry in entries:
            item = {k: v for k, v in entry.items() if k != "Id"}
            rules = ((item.get("Filter") or {}).get("Key") or {}).get("FilterRules")
            if rules:
                item["Filter"] = {
                    "Key": {
                        "FilterRules": sorted(
                            ({"Name": r["Name"].lower(), "Value": r["Value"]} for r in rules), key=lambda r: r["Name"]
                        )
                    }
                }
            item["Events"] = sorted(item.get("Events", []))
            cleaned.append(item)
        result[kind] = sorted(cleaned, key=lambda e: json.dumps(e, sort_keys=True))
    return json.dumps(result, sort_keys=True)


class TtlSweeper:
    """DynamoDB deletes items whose TTL passed (within hours, in the cloud); locally every minute."""

    def __init__(self, endpoint: AwsEndpoint, tables: list[TableSpec], interval: float = 60.0) -> None:
        self.endpoint = endpoint
        self.tables = [t for t in tables if t.ttl_attribute]
        self.interval = interval

    async def run(self) -> None:
        client = self.endpoint.client("dynamodb")
        while True:
            await asyncio.sleep(self.interval)
            for table in self.tables:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self._sweep, client, table)

    @staticmethod
    def _sweep(client: Any, table: TableSpec) -> None:
        keys = [k["AttributeName"] for k in table.properties["KeySchema"]]
        names = {f"#k{i}": key for i, key in enumerate(keys)}
        names["#ttl"] = str(table.ttl_attribute)
        paginator = client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=table.physical_name,
            FilterExpression="#ttl < :now",
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
        ):
            for item in page.get("Items", []):
                client.delete_item(TableName=table.physical_name, Key={k: item[k] for k in keys})
