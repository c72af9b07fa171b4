"""Request and response bodies of the auth routes (CONTRACT.md "Auth").

Validation messages never echo the input (pydantic's ``msg`` does not), so a password sent in
the wrong field cannot come back in an error body or a log line.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from runtime.auth.logic import CODE_DIGITS, Session, User
from runtime.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit, less the angle brackets

NewPassword = Annotated[str, StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]
# Logging in checks no length floor (a raised minimum must not lock old accounts out), only the cap.
AnyPassword = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
NewEmail = Annotated[EmailStr, StringConstraints(max_length=MAX_EMAIL_LENGTH)]
# Emails typed to find an account: any string; one that is not an address is simply not found.
EmailLookup = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_EMAIL_LENGTH)]
# Names are shown to other users: no control characters (they could forge lines in a client).
FullName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
]
TenantId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=rf"^[0-9]{{{CODE_DIGITS}}}$")]


class _Body(BaseModel):
    # Built when a route first validates one (``EmailStr`` imports email-validator then).
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class RegisterRequest(_Body):
    email: NewEmail
    password: NewPassword
    full_name: FullName
    tenant_id: TenantId | None = None


class LoginRequest(_Body):
    email: EmailLookup
    password: AnyPassword


class UpdateProfileRequest(_Body):
    full_name: FullName


class VerifyEmailRequest(_Body):
    email: EmailLookup
    code: Code


class EmailRequest(_Body):
    email: EmailLookup


class ResetPasswordRequest(_Body):
    email: EmailLookup
    code: Code
    new_password: NewPassword


class _Out(BaseModel):
    # Response bodies, built when a route first returns one.
    model_config = ConfigDict(defer_build=True)


class UserOut(_Out):
    """What a user sees of their own account."""

    user_id: str
    email: str
    full_name: str
    tenant_id: str
    permissions: list[str]
    email_verified: bool
    created_at: int

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            user_id=user.user_id,
            email=user.email,
            full_name=user.full_name,
            tenant_id=user.tenant_id,
            permissions=list(user.permissions),
            email_verified=user.email_verified,
            created_at=user.created_at,
        )


class AuthOut(_Out):
    user: UserOut
    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="seconds until the access token expires")

    @classmethod
    def of(cls, session: Session) -> AuthOut:
        return cls(
            user=UserOut.of(session.user),
            access_token=session.token.access_token,
            token_type=session.token.token_type,
            expires_in=session.token.expires_in,
        )


class PublicUserOut(_Out):
    """What a colleague in the same tenant sees: enough to start a conversation."""

    user_id: str
    full_name: str
    email: str

    @classmethod
    def of(cls, user: User) -> PublicUserOut:
        return cls(user_id=user.user_id, full_name=user.full_name, email=user.email)


class VerifiedOut(_Out):
    email: str
    email_verified: bool


class NoticeOut(_Out):
    message: str
