"""Outgoing mail through SES (``send_email``) from the configured sender.

Locally the same call lands in moto's SES store, which the local runtime exposes as a dev
mailbox; nothing here knows the difference.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from runtime.auth.logic import MailError


class SesMailer:
    """Plain-text mail from ``sender``; the boto3 SES client is passed in."""

    def __init__(self, client: Any, sender: str) -> None:
        self._client = client
        self._sender = sender

    def send(self, *, to: str, subject: str, text: str) -> None:
        try:
            self._client.send_email(
                Source=self._sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise MailError("the mail service did not accept the message") from error
