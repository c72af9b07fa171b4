"""A body sent with a content type other than JSON is the contract's error shape, not a 500."""

from __future__ import annotations

import json

from runtime.chat import handler as chat_handler
from tests.runtime.conftest import TokenFactory
from tests.support.events import http_event, lambda_context

USER = "0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


def test_a_body_that_is_not_json_is_415_after_the_token_check(token_factory: TokenFactory) -> None:
    body = {"participant_ids": [USER]}
    plain = {"content-type": "text/plain"}
    anonymous = chat_handler.lambda_handler(
        http_event("POST", "/conversations", body=body, headers=plain), lambda_context()
    )
    assert anonymous["statusCode"] == 401

    headers = {**plain, "authorization": f"Bearer {token_factory(USER)}"}
    response = chat_handler.lambda_handler(
        http_event("POST", "/conversations", body=body, headers=headers), lambda_context()
    )
    assert response["statusCode"] == 415
    assert json.loads(response["body"]) == {"error": "request body must be JSON (Content-Type: application/json)"}


def test_a_form_or_multipart_body_is_415_not_a_500(token_factory: TokenFactory) -> None:
    """Found by the fuzzer: Powertools parsed `multipart/form-data` without a boundary and crashed (500)."""
    headers = {"authorization": f"Bearer {token_factory(USER)}"}
    for content_type in ("multipart/form-data", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"):
        response = chat_handler.lambda_handler(
            http_event(
                "POST",
                "/conversations",
                body={"participant_ids": [USER]},
                headers={**headers, "content-type": content_type},
            ),
            lambda_context(),
        )
        assert response["statusCode"] == 415, content_type
        assert json.loads(response["body"]) == {"error": "request body must be JSON (Content-Type: application/json)"}


def test_json_with_a_charset_is_json(token_factory: TokenFactory) -> None:
    headers = {"authorization": f"Bearer {token_factory(USER)}"}
    for content_type in ("application/json; charset=utf-8", "application/json"):
        response = chat_handler.lambda_handler(
            http_event(
                "POST",
                "/conversations",
                body={"participant_ids": "x"},
                headers={**headers, "content-type": content_type},
            ),
            lambda_context(),
        )
        assert response["statusCode"] == 400, content_type


def test_a_body_that_is_not_utf8_is_400_not_a_500(token_factory: TokenFactory) -> None:
    """Found by the fuzzer: API Gateway base64-encodes such a body, and decoding it to text crashed."""
    headers = {"authorization": f"Bearer {token_factory(USER)}"}
    response = chat_handler.lambda_handler(
        http_event("POST", "/conversations", raw_body=b"\xff\xfe{\x05", headers=headers), lambda_context()
    )
    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {"error": "request body is not valid JSON"}
