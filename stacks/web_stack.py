"""The web client (`web/`) for a stage: a private bucket behind CloudFront, and the files in it.

Two stacks, because the client's origin and the APIs name each other: the APIs' CORS rules allow
the distribution's origin only, so the hosting is deployed first; the client's files and the
``outputs.json`` it reads (the APIs' URLs, in the shape of ``cdk deploy --outputs-file``) are
deployed last, once those URLs exist.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from stacks.api_stack import ApiStack
from stacks.config import StageConfig
from stacks.nag import acknowledge_grant_wildcards
from stacks.realtime_stack import RealtimeStack
from stacks.web_policy import content_security_policy, deployed_sources

WEB_DIR = Path(__file__).resolve().parents[1] / "web"


class WebHostingStack(Stack):
    """The bucket and the distribution; ``origin`` is what the APIs' CORS rules allow."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        common = {
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "enforce_ssl": True,
            "minimum_tls_version": 1.2,
            "removal_policy": config.removal_policy,
            "auto_delete_objects": config.auto_delete_objects,
        }
        logs = s3.Bucket(
            self,
            "LogsBucket",
            # CloudFront's standard logs are delivered with ACLs.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            **common,  # type: ignore[arg-type]
        )
        Validations.of(logs).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the access-log target of the site bucket and the distribution; logging it into itself "
                "would loop.",
            )
        )
        self.bucket = s3.Bucket(
            self,
            "SiteBucket",
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=logs,
            server_access_logs_prefix="site/",
            **common,  # type: ignore[arg-type]
        )
        origin = origins.S3BucketOrigin.with_origin_access_control(self.bucket)
        headers = self._security_headers(config)
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"Web client ({config.name})",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
            ),
            additional_behaviors={
                # Rewritten by every deployment of the api: never served stale.
                "/outputs.json": cloudfront.BehaviorOptions(
                    origin=origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    response_headers_policy=headers,
                )
            },
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=logs,
            log_file_prefix="cloudfront/",
        )
        for rule, reason in (
            ("AwsSolutions-CFR1", "The client is for users in any country; the APIs authenticate every request."),
            (
                "AwsSolutions-CFR2",
                "The distribution serves static files only; requests that do work go to the APIs, which are "
                "throttled per stage.",
            ),
            (
                "AwsSolutions-CFR4",
                "The default *.cloudfront.net certificate fixes the viewer TLS policy; a custom domain with its own "
                "certificate is what allows TLSv1.2_2021.",
            ),
        ):
            Validations.of(self.distribution).acknowledge(Acknowledgment(id=rule, reason=reason))
        self.origin = f"https://{self.distribution.distribution_domain_name}"
        self.security_headers = headers
        CfnOutput(self, "WebUrl", value=f"{self.origin}/", description="The web client")
        CfnOutput(self, "WebBucketName", value=self.bucket.bucket_name)

    def _security_headers(self, config: StageConfig) -> cloudfront.ResponseHeadersPolicy:
        """CloudFront's managed SECURITY_HEADERS, plus the client's Content-Security-Policy."""
        policy = content_security_policy(**deployed_sources(Stack.of(self).region))
        return cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment=f"Web client security headers ({config.name})",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=policy, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
                xss_protection=cloudfront.ResponseHeadersXSSProtection(protection=True, mode_block=True, override=True),
            ),
        )


class WebContentStack(Stack):
    """The client's files, and ``outputs.json`` naming this stage's APIs, in the hosting bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        hosting: WebHostingStack,
        api: ApiStack,
        realtime: RealtimeStack,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        outputs = {
            api.stack_name: {"HttpApiUrl": api.url},
            realtime.stack_name: {"WebSocketUrl": realtime.url},
        }
        deployment = s3deploy.BucketDeployment(
            self,
            "Client",
            sources=[s3deploy.Source.asset(str(WEB_DIR)), s3deploy.Source.json_data("outputs.json", outputs)],
            destination_bucket=hosting.bucket,
            distribution=hosting.distribution,
            distribution_paths=["/*"],
            memory_limit=256,
            # CDK's function would otherwise log into a group Lambda creates and keeps forever.
            log_group=logs.LogGroup(
                self,
                "ClientDeploymentLogs",
                retention=hosting.config.log_retention,
                removal_policy=hosting.config.removal_policy,
            ),
        )
        # The copy runs in CDK's own custom-resource function (aws-cli in a layer), once per deploy.
        role = deployment.handler_role
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]",
                reason="CDK's BucketDeployment function writes its own logs with AWSLambdaBasicExecutionRole.",
            )
        )
        if isinstance(role, iam.Role):
            acknowledge_grant_wildcards(
                role,
                "CDK's BucketDeployment reads its asset from the CDK assets bucket and syncs every object into the "
                "site bucket (object-level wildcards on those two buckets); CloudFront invalidation has no "
                "resource-level permission.",
            )
        # This stack holds only the deployment, so these two are acknowledged for the whole stack.
        Validations.of(self).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
                "<AWS::Region>/*]",
                reason="CDK's BucketDeployment reads the client's files from the CDK assets bucket of the account.",
            ),
            Acknowledgment(
                id="AwsSolutions-L1",
                reason="The runtime of CDK's BucketDeployment function is chosen by aws-cdk-lib, not by this app.",
            ),
            Acknowledgment(
                id="Serverless-LambdaLatestVersion",
                reason="The runtime of CDK's BucketDeployment function is chosen by aws-cdk-lib, not by this app.",
            ),
            Acknowledgment(
                id="Serverless-LambdaDLQ",
                reason="CloudFormation invokes CDK's BucketDeployment function synchronously through its custom "
                "resource and reports a failure as a failed deployment, which rolls back; there is no event to park.",
            ),
            Acknowledgment(
                id="Serverless-LambdaTracing",
                reason="CDK's BucketDeployment function runs only during a deployment, where CloudFormation's events "
                "and the function's log group already show each step; aws-cdk-lib does not expose its tracing.",
            ),
        )
        self.deployment = deployment
