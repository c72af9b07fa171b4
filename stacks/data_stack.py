"""The data stack: tables, buckets and the JWT signing secret every other stack reads.

Each table serves one domain and is shaped by its access patterns (docs/data-model.md);
other stacks receive the resources as typed attributes and grant themselves access.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from aws_cdk import Acknowledgment, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from runtime.common.names import Attr, Index, IndexAttr, Prefix
from stacks.config import StageConfig
from stacks.constructs.monitoring import AlarmTopic, Monitoring

_S = dynamodb.AttributeType.STRING
_N = dynamodb.AttributeType.NUMBER


@dataclass(frozen=True)
class Tables:
    users: dynamodb.TableV2
    chat: dynamodb.TableV2
    connections: dynamodb.TableV2
    upload_sessions: dynamodb.TableV2
    images: dynamodb.TableV2
    idempotency: dynamodb.TableV2


@dataclass(frozen=True)
class Buckets:
    uploads: s3.Bucket
    images: s3.Bucket
    access_logs: s3.Bucket


class DataStack(Stack):
    """Stateful resources, kept apart so the compute stacks can be replaced freely."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        web_origins: Sequence[str] = (),
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        allowed_origins = [*config.cors_allowed_origins, *web_origins]
        self.tables = Tables(
            users=self._table("Users"),
            chat=self._table(
                "Chat",
                stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
                indexes=[
                    (Index.USER_CONVERSATIONS, Attr.PK, IndexAttr.ACTIVITY_SK, _S),
                    (Index.MESSAGES_BY_TYPE, IndexAttr.TYPE_PK, Attr.SK, _S),
                    (Index.CONVERSATION_CALLS, IndexAttr.CALL_CONVERSATION_PK, IndexAttr.CREATED_AT_MS, _N),
                ],
            ),
            connections=self._table(
                "Connections",
                indexes=[
                    (Index.CONNECTIONS_BY_USER, IndexAttr.USER_ID, Attr.PK, _S),
                    (Index.CONNECTIONS_BY_SESSION, IndexAttr.SESSION_ID, Attr.PK, _S),
                    (Index.SUBSCRIBERS_BY_CONVERSATION, IndexAttr.SUB_CONVERSATION_ID, Attr.PK, _S),
                ],
            ),
            upload_sessions=self._table("UploadSessions", sort_key=False),
            images=self._table(
                "Images",
                partition=IndexAttr.OWNER_ID,
                sort=IndexAttr.IMAGE_ID,
                indexes=[(Index.IMAGES_BY_CREATED, IndexAttr.OWNER_ID, IndexAttr.CREATED_AT, _N)],
            ),
            # Powertools' idempotency layer: its default key and expiry attribute names.
            idempotency=self._table("Idempotency", partition="id", sort_key=False, ttl="expiration"),
        )

        access_logs = self._bucket("AccessLogs", access_logs=None)
        Validations.of(access_logs).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the server-access-log target; logging it into itself would loop.",
            )
        )
        uploads = self._bucket(
            "Uploads",
            access_logs=access_logs,
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT, s3.HttpMethods.POST],
                    allowed_origins=allowed_origins,
                    allowed_headers=["*"],
                    exposed_headers=["ETag"],
                    max_age=3000,
                )
            ],
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-qr-session-uploads",
                    prefix=Prefix.SESSION_UPLOADS,
                    expiration=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-pipeline-intermediates",
                    prefix=Prefix.PROCESSING,
                    expiration=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-multipart",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
        )
        images = self._bucket(
            "Images",
            access_logs=access_logs,
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                    allowed_origins=allowed_origins,
                    allowed_headers=["*"],
                    max_age=3000,
                )
            ],
        )
        self.buckets = Buckets(uploads=uploads, images=images, access_logs=access_logs)

        self.jwt_secret = secretsmanager.Secret(
            self,
            "JwtSigningKey",
            description="HS256 signing key for access tokens (generated at deploy; never in code).",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64,
                exclude_punctuation=True,
            ),
            removal_policy=config.removal_policy,
        )
        Validations.of(self.jwt_secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="Rotating the signing key invalidates every session; it is rotated by the "
                "documented two-key (kid) procedure, not by a rotation Lambda.",
            )
        )

        CfnOutput(self, "UploadsBucketName", value=uploads.bucket_name)
        CfnOutput(self, "ImagesBucketName", value=images.bucket_name)

        # The stage's one alarm topic lives here, in the stack every other one already depends on.
        self.alarm_topic = AlarmTopic(self, "Alarms", config=config).topic
        self.monitoring = Monitoring(self, "Monitoring", config=config, topic=self.alarm_topic, title="Tables")
        self.monitoring.tables((f.name, getattr(self.tables, f.name)) for f in fields(self.tables))
        CfnOutput(self, "JwtSigningKeyArn", value=self.jwt_secret.secret_arn, description="Rotate: docs/operations.md")
        CfnOutput(self, "AlarmTopicArn", value=self.alarm_topic.topic_arn, description="Where every alarm goes")

    def _table(
        self,
        name: str,
        *,
        partition: str = Attr.PK,
        sort: str = Attr.SK,
        sort_key: bool = True,
        ttl: str | None = Attr.TTL,
        stream: dynamodb.StreamViewType | None = None,
        indexes: list[tuple[str, str, str, dynamodb.AttributeType]] | None = None,
    ) -> dynamodb.TableV2:
        config = self.config
        table = dynamodb.TableV2(
            self,
            f"{name}Table",
            partition_key=dynamodb.Attribute(name=partition, type=_S),
            sort_key=dynamodb.Attribute(name=sort, type=_S) if sort_key else None,
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            time_to_live_attribute=ttl,
            dynamo_stream=stream,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=config.point_in_time_recovery,
            ),
            deletion_protection=config.deletion_protection,
            removal_policy=config.removal_policy,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=index_name,
                    partition_key=dynamodb.Attribute(name=pk, type=_S),
                    sort_key=dynamodb.Attribute(name=sk, type=sk_type),
                )
                for index_name, pk, sk, sk_type in indexes or []
            ],
        )
        if not config.point_in_time_recovery:
            Validations.of(table).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-DDB3",
                    reason=f"Stage {config.name} holds disposable data; prod enables point-in-time recovery.",
                )
            )
        return table

    def _bucket(
        self,
        name: str,
        *,
        access_logs: s3.Bucket | None,
        cors: list[s3.CorsRule] | None = None,
        lifecycle_rules: list[s3.LifecycleRule] | None = None,
    ) -> s3.Bucket:
        return s3.Bucket(
            self,
            f"{name}Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=False,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{name.lower()}/" if access_logs is not None else None,
            cors=cors,
            lifecycle_rules=lifecycle_rules,
            removal_policy=self.config.removal_policy,
            auto_delete_objects=self.config.auto_delete_objects,
        )
