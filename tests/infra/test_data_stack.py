"""The data stack holds what CONTRACT.md's access patterns need, configured per stage."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from runtime.common.names import Index, IndexAttr
from tests.infra.conftest import Synthesized


def _tables(synth: Synthesized) -> dict[str, dict[str, Any]]:
    resources = synth.template_json("data")["Resources"]
    return {
        logical_id: resource
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::DynamoDB::GlobalTable"
    }


def _table(synth: Synthesized, prefix: str) -> dict[str, Any]:
    matches = [r for logical_id, r in _tables(synth).items() if logical_id.startswith(prefix)]
    assert len(matches) == 1, f"expected one {prefix} table"
    return matches[0]


def _index_names(table: dict[str, Any]) -> set[str]:
    return {gsi["IndexName"] for gsi in table["Properties"].get("GlobalSecondaryIndexes", [])}


def test_every_domain_has_its_table(dev: Synthesized) -> None:
    names = {logical_id.rstrip("0123456789ABCDEF") for logical_id in _tables(dev)}
    assert {"UsersTable", "ChatTable", "ConnectionsTable", "UploadSessionsTable", "ImagesTable"} <= names
    assert "IdempotencyTable" in names


def test_tables_are_on_demand_and_encrypted(dev: Synthesized) -> None:
    for table in _tables(dev).values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"]["SSEEnabled"] is True


def test_chat_table_streams_both_images_and_indexes_its_access_patterns(dev: Synthesized) -> None:
    chat = _table(dev, "ChatTable")
    assert chat["Properties"]["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert _index_names(chat) == {Index.USER_CONVERSATIONS, Index.MESSAGES_BY_TYPE, Index.CONVERSATION_CALLS}


def test_connections_expire_and_are_found_by_user_session_and_conversation(dev: Synthesized) -> None:
    connections = _table(dev, "ConnectionsTable")
    assert connections["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert _index_names(connections) == {
        Index.CONNECTIONS_BY_USER,
        Index.CONNECTIONS_BY_SESSION,
        Index.SUBSCRIBERS_BY_CONVERSATION,
    }


def test_upload_sessions_expire(dev: Synthesized) -> None:
    sessions = _table(dev, "UploadSessionsTable")
    assert sessions["Properties"]["TimeToLiveSpecification"]["Enabled"] is True
    assert [k["AttributeName"] for k in sessions["Properties"]["KeySchema"]] == ["pk"]


def test_images_are_keyed_by_owner(dev: Synthesized) -> None:
    images = _table(dev, "ImagesTable")
    keys = [k["AttributeName"] for k in images["Properties"]["KeySchema"]]
    assert keys == [IndexAttr.OWNER_ID, IndexAttr.IMAGE_ID]
    assert _index_names(images) == {Index.IMAGES_BY_CREATED}


@pytest.mark.parametrize(
    ("stage", "policy", "pitr", "protection"),
    [("dev", "Delete", False, False), ("prod", "Retain", True, True)],
)
def test_stage_decides_removal_recovery_and_protection(
    synthesized: dict[str, Synthesized], stage: str, policy: str, pitr: bool, protection: bool
) -> None:
    for table in _tables(synthesized[stage]).values():
        assert table["DeletionPolicy"] == policy
        replica = table["Properties"]["Replicas"][0]
        assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is pitr
        assert replica.get("DeletionProtectionEnabled", False) is protection


def test_buckets_block_public_access_and_refuse_plain_http(dev: Synthesized) -> None:
    template = dev.template("data")
    buckets = template.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 3
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert "BucketEncryption" in props
    policies = template.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 3
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in statements
        )


def test_uploads_bucket_allows_browser_uploads_and_expires_qr_uploads(dev: Synthesized) -> None:
    dev.template("data").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "CorsConfiguration": {
                "CorsRules": [Match.object_like({"AllowedMethods": ["PUT", "POST"]})],
            },
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"Prefix": "session-uploads/", "ExpirationInDays": 1, "Status": "Enabled"})]
                )
            },
        },
    )


def test_signing_key_is_generated_not_written(dev: Synthesized) -> None:
    template = dev.template("data")
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": Match.object_like({"PasswordLength": 64, "ExcludePunctuation": True})},
    )
    secret = next(iter(template.find_resources("AWS::SecretsManager::Secret").values()))
    assert "SecretString" not in secret["Properties"]


def test_prod_keeps_its_buckets_and_secret(prod: Synthesized) -> None:
    template = prod.template("data")
    for resource_type in ("AWS::S3::Bucket", "AWS::SecretsManager::Secret"):
        for resource in template.find_resources(resource_type).values():
            assert resource["DeletionPolicy"] == "Retain"
    assert not template.find_resources("Custom::S3AutoDeleteObjects")
