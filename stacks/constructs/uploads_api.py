"""The uploads function and its routes: QR sessions (anonymous) and image uploads (authenticated)."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from constructs import Construct

from runtime.common.names import Env
from stacks.config import StageConfig
from stacks.constructs.python_function import PythonFunction
from stacks.constructs.tokens import IN_FUNCTION_AUTH_REASON, grant_token_access
from stacks.data_stack import DataStack
from stacks.nag import acknowledge_grant_wildcards

_PUBLIC_REASON = (
    "QR upload sessions are anonymous by design: the unguessable session id is the capability "
    "(CONTRACT.md), and the routes only create, presign and read that one session."
)


class UploadsApi(Construct):
    """One function for the uploads domain, with exactly the routes it serves."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, data: DataStack, http_api: apigw.HttpApi
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = PythonFunction(
            self,
            "Uploads",
            config=config,
            handler="runtime.uploads.handler.lambda_handler",
            service="uploads",
            description="QR upload sessions and presigned image uploads",
            environment={
                Env.UPLOAD_SESSIONS_TABLE: data.tables.upload_sessions.table_name,
                Env.IMAGES_TABLE: data.tables.images.table_name,
                Env.UPLOADS_BUCKET: data.buckets.uploads.bucket_name,
                Env.IMAGES_BUCKET: data.buckets.images.bucket_name,
            },
        )
        role = self.function.role
        data.tables.upload_sessions.grant_read_write_data(role)
        data.tables.images.grant_read_write_data(role)
        # Presigned URLs carry the signer's permissions: PUT/POST into uploads, GET from images.
        data.buckets.uploads.grant_put(role, "session-uploads/*")
        data.buckets.uploads.grant_put(role, "uploads/*")
        data.buckets.images.grant_read(role, "variants/*")
        grant_token_access(self.function, secret=data.jwt_secret, config=config)

        integration = integrations.HttpLambdaIntegration("UploadsIntegration", self.function.function)
        public = [
            ("/sessions", apigw.HttpMethod.POST),
            ("/sessions/{sessionId}", apigw.HttpMethod.GET),
            ("/upload-url", apigw.HttpMethod.GET),
        ]
        authenticated = [
            ("/upload", apigw.HttpMethod.POST),
            ("/images", apigw.HttpMethod.GET),
            ("/images/{imageId}", apigw.HttpMethod.GET),
        ]
        for paths, reason in ((public, _PUBLIC_REASON), (authenticated, IN_FUNCTION_AUTH_REASON)):
            for path, method in paths:
                for route in http_api.add_routes(path=path, methods=[method], integration=integration):
                    Validations.of(route).acknowledge(Acknowledgment(id="AwsSolutions-APIG4", reason=reason))
        acknowledge_grant_wildcards(
            role,
            "Wildcards come from CDK grants scoped to this domain's resources: the indexes of its two "
            "tables, the upload prefixes of the uploads bucket and the variants prefix of the images bucket.",
        )
