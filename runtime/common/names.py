"""Names that the stacks and the Lambda code must agree on.

The stacks import this module to set environment variables and index names; the handlers
import it to read them. Keeping them in one place means a rename cannot half-happen.
It imports nothing, so the CDK app can load it without the runtime's dependencies.
"""

from __future__ import annotations

from typing import Final


class Env:
    """Environment variable names set on functions."""

    STAGE: Final = "STAGE"
    USERS_TABLE: Final = "USERS_TABLE"
    CHAT_TABLE: Final = "CHAT_TABLE"
    CONNECTIONS_TABLE: Final = "CONNECTIONS_TABLE"
    UPLOAD_SESSIONS_TABLE: Final = "UPLOAD_SESSIONS_TABLE"
    IMAGES_TABLE: Final = "IMAGES_TABLE"
    IDEMPOTENCY_TABLE: Final = "IDEMPOTENCY_TABLE"
    UPLOADS_BUCKET: Final = "UPLOADS_BUCKET"
    IMAGES_BUCKET: Final = "IMAGES_BUCKET"
    JWT_SECRET_ARN: Final = "JWT_SECRET_ARN"
    TOKEN_ISSUER: Final = "TOKEN_ISSUER"
    TOKEN_AUDIENCE: Final = "TOKEN_AUDIENCE"
    ACCESS_TOKEN_TTL_SECONDS: Final = "ACCESS_TOKEN_TTL_SECONDS"
    MAIL_FROM: Final = "MAIL_FROM"
    WEBSOCKET_ENDPOINT: Final = "WEBSOCKET_ENDPOINT"
    STATE_MACHINE_ARN: Final = "STATE_MACHINE_ARN"
    NOTIFICATIONS_TOPIC_ARN: Final = "NOTIFICATIONS_TOPIC_ARN"
    # Image core (runtime.pipeline.imaging.ImagingSettings); WATERMARK is a JSON object.
    IMAGE_MAX_BYTES: Final = "IMAGE_MAX_BYTES"
    IMAGE_MAX_PIXELS: Final = "IMAGE_MAX_PIXELS"
    WATERMARK: Final = "WATERMARK"


class Attr:
    """Key attribute names shared by the tables' definitions and their repositories."""

    PK: Final = "pk"
    SK: Final = "sk"
    TTL: Final = "ttl"


class Index:
    """Global and local secondary indexes, named for the access pattern they serve."""

    # chat table
    USER_CONVERSATIONS: Final = "UserConversationsByActivity"
    MESSAGES_BY_TYPE: Final = "MessagesByType"
    CONVERSATION_CALLS: Final = "CallsByConversation"
    # connections table
    CONNECTIONS_BY_USER: Final = "ConnectionsByUser"
    CONNECTIONS_BY_SESSION: Final = "ConnectionsBySession"
    SUBSCRIBERS_BY_CONVERSATION: Final = "SubscribersByConversation"
    # images table
    IMAGES_BY_CREATED: Final = "ImagesByCreatedAt"


class IndexAttr:
    """Attributes that exist only on the items an index should hold (sparse indexes)."""

    ACTIVITY_SK: Final = "activity_sk"
    TYPE_PK: Final = "type_pk"
    CALL_CONVERSATION_PK: Final = "call_conversation_pk"
    CREATED_AT_MS: Final = "created_at_ms"
    USER_ID: Final = "user_id"
    SESSION_ID: Final = "session_id"
    SUB_CONVERSATION_ID: Final = "sub_conversation_id"
    OWNER_ID: Final = "owner_id"
    IMAGE_ID: Final = "image_id"
    CREATED_AT: Final = "created_at"


class Permission:
    """What a token's ``permissions`` may hold; a route checks one with ``Identity.require``."""

    CHAT: Final = "chat"
    CALLS: Final = "calls"
    RIDES: Final = "rides"
    IMAGES: Final = "images"


class Prefix:
    """S3 key prefixes with a meaning of their own."""

    IMAGE_UPLOADS: Final = "uploads/"
    SESSION_UPLOADS: Final = "session-uploads/"
    # Un-watermarked intermediate variants (uploads bucket), expired by a lifecycle rule.
    PROCESSING: Final = "processing/"
    # Final variants (images bucket): the only objects clients can be given URLs for.
    VARIANTS: Final = "variants/"
