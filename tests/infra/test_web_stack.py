"""The web client's hosting: private bucket behind CloudFront, and CORS that names it alone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.conftest import STAGES, Synthesized


def _web_origin(stage: str) -> dict[str, Any]:
    """The distribution's https origin as the importing stacks spell it."""
    return {
        "Fn::Join": [
            "",
            [
                "https://",
                {
                    "Fn::ImportValue": f"Messaging-{stage}-web:"
                    "ExportsOutputFnGetAttDistribution830FAC52DomainNameBEB09E30"
                },
            ],
        ]
    }


@pytest.mark.parametrize("stage", STAGES)
def test_the_apis_and_buckets_allow_the_web_clients_origin_only(
    synthesized: dict[str, Synthesized], stage: str
) -> None:
    synth = synthesized[stage]
    origin = _web_origin(stage)
    api = synth.template_json("api")["Resources"]
    (cors,) = [r["Properties"]["CorsConfiguration"] for r in api.values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    assert cors["AllowOrigins"] == [origin]
    # The attempt limits' 429 carries Retry-After, which browser code can read only if exposed.
    assert cors["ExposeHeaders"] == ["retry-after"]
    data = synth.template_json("data")["Resources"]
    rules = [
        rule
        for resource in data.values()
        if resource["Type"] == "AWS::S3::Bucket"
        for rule in resource["Properties"].get("CorsConfiguration", {}).get("CorsRules", [])
    ]
    assert len(rules) == 2
    assert all(rule["AllowedOrigins"] == [origin] for rule in rules)


def test_the_site_bucket_is_private_and_read_through_origin_access_control(dev: Synthesized) -> None:
    template = dev.template("web")
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        },
    )
    template.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    distribution = next(
        r["Properties"]["DistributionConfig"]
        for r in dev.template_json("web")["Resources"].values()
        if r["Type"] == "AWS::CloudFront::Distribution"
    )
    assert distribution["DefaultRootObject"] == "index.html"
    assert distribution["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert [b["PathPattern"] for b in distribution["CacheBehaviors"]] == ["/outputs.json"]
    assert "Logging" in distribution
    assert "WebUrl" in dev.template_json("web")["Outputs"]


def test_the_client_is_deployed_with_an_outputs_file_naming_the_stages_apis(dev: Synthesized) -> None:
    (deployment,) = [
        r["Properties"]
        for r in dev.template_json("web-content")["Resources"].values()
        if r["Type"] == "Custom::CDKBucketDeployment"
    ]
    markers = str(deployment["SourceMarkers"])
    assert "Messaging-dev-api:ExportsOutputFnGetAttHttpApi" in markers
    assert "Messaging-dev-realtime:ExportsOutputRefWebSocketApi" in markers
    assert len(deployment["SourceObjectKeys"]) == 2
    assert deployment["DistributionPaths"] == ["/*"]


def test_the_local_stage_hosts_nothing_and_allows_the_local_client() -> None:
    from stacks.config import stage_config

    local = stage_config("local")
    assert not local.web_hosting
    assert "*" not in local.cors_allowed_origins
    assert "http://127.0.0.1:*" in local.cors_allowed_origins


def test_the_distribution_sends_the_clients_content_security_policy(dev: Synthesized) -> None:
    resources = dev.template_json("web")["Resources"]
    (policy_id, policy) = next(
        (logical_id, r["Properties"]["ResponseHeadersPolicyConfig"])
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"
    )
    headers = policy["SecurityHeadersConfig"]
    csp = headers["ContentSecurityPolicy"]
    assert csp["Override"] is True
    # The region is a token: joined by CloudFormation at deploy time.
    text = "".join(p if isinstance(p, str) else "<region>" for p in csp["ContentSecurityPolicy"]["Fn::Join"][1])
    directives = {d.split()[0]: d.split()[1:] for d in text.split("; ")}
    assert directives["script-src"] == directives["style-src"] == ["'self'"]
    assert "wss://*.execute-api.<region>.amazonaws.com" in directives["connect-src"]
    assert "https://s3.<region>.amazonaws.com" in directives["img-src"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe" not in text
    assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] == 31536000
    distribution = next(
        r["Properties"]["DistributionConfig"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudFront::Distribution"
    )
    for behavior in (distribution["DefaultCacheBehavior"], *distribution["CacheBehaviors"]):
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": policy_id}
