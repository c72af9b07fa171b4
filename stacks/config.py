"""Per-stage settings: everything that differs between dev, prod and the local runtime.

Stacks read one of these objects instead of branching on the stage name, so a new stage is a
new entry here and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_logs as logs


@dataclass(frozen=True)
class AlarmThresholds:
    """Numbers the alarms compare against; prod pages on less than dev does."""

    error_rate_percent: float
    duration_ms: int
    dlq_depth: int
    # Each alarm fires when its metric reaches the number below within one period.
    throttles: int = 1
    server_errors: int = 1
    # Rejected uploads end their execution in the Fail state too: one is a user's bad file, several are not.
    failed_executions: int = 3
    period_minutes: int = 5


@dataclass(frozen=True)
class Concurrency:
    """Reserved and provisioned concurrency per stage (docs/operations.md).

    Reserved concurrency caps a function that could run away (and guarantees it that much);
    Lambda refuses it when it would leave the account fewer than 100 unreserved executions, so
    accounts with a small quota keep it off (None). Provisioned concurrency keeps warm instances
    of the latency-critical functions behind a ``live`` alias; 0 means no alias at all.
    """

    stream_processor: int | None = None
    # Also the SQS event source's maximum concurrency, so the queue is never throttled into its DLQ.
    orchestrator: int | None = None
    # Each of the byte-handling steps (validate, resize, watermark); record/fail stay unreserved.
    image_steps: int | None = None
    provisioned_auth: int = 0
    provisioned_chat: int = 0
    provisioned_connect: int = 0


@dataclass(frozen=True)
class StageConfig:
    """Typed settings for one deployment stage."""

    name: str
    removal_policy: RemovalPolicy
    point_in_time_recovery: bool
    deletion_protection: bool
    log_retention: logs.RetentionDays
    lambda_memory_mb: int
    image_lambda_memory_mb: int
    lambda_timeout: Duration
    alarms: AlarmThresholds
    access_token_ttl_seconds: int
    http_throttle_rate: int
    http_throttle_burst: int
    # Origins the HTTP API and the upload/image buckets allow besides the stage's own web client
    # (whose CloudFront origin is added where the client is hosted, see `web_hosting`).
    cors_allowed_origins: tuple[str, ...]
    # Deploy the web client (web/) on S3 + CloudFront for this stage.
    web_hosting: bool
    # Sender of verification and reset codes (an SES identity the api stack creates). Stages
    # that share an account need different addresses; override with `-c mail_from=...`.
    mail_from: str
    concurrency: Concurrency = Concurrency()

    @property
    def auto_delete_objects(self) -> bool:
        """Empty buckets on delete only where the stage throws its data away anyway."""
        return self.removal_policy is RemovalPolicy.DESTROY

    def prefixed(self, name: str) -> str:
        """Stack and resource name for this stage, e.g. ``Messaging-prod-data``."""
        return f"Messaging-{self.name}-{name}"


_DEV = StageConfig(
    name="dev",
    removal_policy=RemovalPolicy.DESTROY,
    point_in_time_recovery=False,
    deletion_protection=False,
    log_retention=logs.RetentionDays.ONE_WEEK,
    lambda_memory_mb=512,
    image_lambda_memory_mb=1769,
    lambda_timeout=Duration.seconds(10),
    alarms=AlarmThresholds(error_rate_percent=10, duration_ms=10_000, dlq_depth=1),
    access_token_ttl_seconds=3600,
    http_throttle_rate=50,
    http_throttle_burst=100,
    cors_allowed_origins=(),
    web_hosting=True,
    mail_from="no-reply+dev@messaging.example.com",
)

_PROD = StageConfig(
    name="prod",
    removal_policy=RemovalPolicy.RETAIN,
    point_in_time_recovery=True,
    deletion_protection=True,
    log_retention=logs.RetentionDays.THREE_MONTHS,
    lambda_memory_mb=1024,
    image_lambda_memory_mb=1769,  # one full vCPU: the measured sweet spot (docs/benchmarks.md)
    lambda_timeout=Duration.seconds(10),
    alarms=AlarmThresholds(error_rate_percent=5, duration_ms=10_000, dlq_depth=1),
    access_token_ttl_seconds=900,
    http_throttle_rate=200,
    http_throttle_burst=400,
    cors_allowed_origins=(),
    web_hosting=True,
    mail_from="no-reply@messaging.example.com",
    concurrency=Concurrency(
        stream_processor=20,
        orchestrator=5,
        image_steps=10,
        provisioned_auth=2,
        provisioned_chat=2,
        provisioned_connect=2,
    ),
)

# The local runtime synthesizes this stage: dev's shape, but nothing in it ever reaches AWS.
_LOCAL = StageConfig(
    name="local",
    removal_policy=RemovalPolicy.DESTROY,
    point_in_time_recovery=False,
    deletion_protection=False,
    log_retention=logs.RetentionDays.ONE_DAY,
    lambda_memory_mb=512,
    image_lambda_memory_mb=1769,
    lambda_timeout=Duration.seconds(30),
    alarms=AlarmThresholds(error_rate_percent=10, duration_ms=10_000, dlq_depth=1),
    access_token_ttl_seconds=3600,
    http_throttle_rate=1000,
    http_throttle_burst=2000,
    # The web client as the runtime serves it: on loopback at any port (3003 by default, a free one
    # in the tests), or at any address on its default port (a phone reaching --public-host). S3
    # allows one `*` per origin; the local gateways match the same patterns.
    cors_allowed_origins=("http://127.0.0.1:*", "http://localhost:*", "http://*:3003"),
    web_hosting=False,
    mail_from="no-reply+local@messaging.example.com",
)

STAGES: dict[str, StageConfig] = {c.name: c for c in (_DEV, _PROD, _LOCAL)}


def stage_config(name: str) -> StageConfig:
    """Look up a stage, failing with the list of valid names rather than a KeyError."""
    try:
        return STAGES[name]
    except KeyError:
        valid = ", ".join(sorted(STAGES))
        raise ValueError(f"unknown stage {name!r}; expected one of: {valid}") from None
