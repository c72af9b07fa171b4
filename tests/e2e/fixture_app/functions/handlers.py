"""The fixture app's functions: each shows one thing the local runtime must get right."""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from typing import Any

import boto3

VERSION = "v1"
_invocations = 0


def _json(status: int, body: object) -> dict:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", "access-control-allow-origin": "https://ignored.example"},
        "body": json.dumps(body),
    }


def echo(event: dict, context: Any) -> dict:
    return _json(
        200,
        {
            "event": event,
            "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    )


def env_report(event: dict, context: object) -> dict:
    """Module state survives between invocations of one function; nothing leaks to another."""
    global _invocations
    _invocations += 1
    seen = os.environ.get("LEAKED")
    os.environ["LEAKED"] = os.environ["FIXTURE_VALUE"]
    return _json(
        200,
        {
            "value": os.environ["FIXTURE_VALUE"],
            "leaked": seen,
            "invocations": _invocations,
            "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        },
    )


def slow(event: dict, context: object) -> dict:
    if (event.get("queryStringParameters") or {}).get("fast"):
        return _json(200, {"slept": 0})
    time.sleep(5)
    return _json(200, {"slept": 5})


def version(event: dict, context: object) -> dict:
    return _json(200, {"version": VERSION})


def fail(event: dict, context: object) -> dict:
    raise RuntimeError("this function always fails")


def send_mail(event: dict, context: object) -> dict:
    body = json.loads(event["body"])
    boto3.client("ses").send_email(
        Source=os.environ["MAIL_FROM"],
        Destination={"ToAddresses": [body["to"]]},
        Message={"Subject": {"Data": "Your code"}, "Body": {"Text": {"Data": f"code {body['code']}"}}},
    )
    return _json(202, {"sent": True})


def http_authorizer(event: dict, context: object) -> dict:
    token = event["identitySource"][0]
    return {"isAuthorized": token == "Bearer good", "context": {"user": "alice"}}


def ws_authorizer(event: dict, context: object) -> dict:
    token = event["queryStringParameters"]["token"]
    effect = "Allow" if token == "letmein" else "Deny"
    return {
        "principalId": "alice",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}],
        },
        "context": {"tenant": "t-1"},
    }


def websocket(event: dict, context: object) -> dict:
    request = event["requestContext"]
    route = request["routeKey"]
    if route in ("$connect", "$disconnect"):
        return {"statusCode": 200}
    if route == "whoami":
        return {
            "statusCode": 200,
            "body": json.dumps(
                {
                    "connectionId": request["connectionId"],
                    "principal": request["authorizer"]["principalId"],
                    "tenant": request["authorizer"]["tenant"],
                }
            ),
        }
    if route == "push":
        client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["CALLBACK_URL"])
        message = json.loads(event["body"])["message"]
        client.post_to_connection(ConnectionId=request["connectionId"], Data=json.dumps({"pushed": message}).encode())
        return {"statusCode": 200}
    return {"statusCode": 200, "body": json.dumps({"default": event["body"]})}


def on_upload(event: dict, context: object) -> dict:
    """S3 -> SQS records: store each key; report bodies asking to fail as failed items."""
    table = boto3.resource("dynamodb").Table(os.environ["RESULTS_TABLE"])
    failures = []
    for record in event["Records"]:
        body = json.loads(record["body"])
        if body.get("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        for s3_record in body.get("Records", []):
            key = urllib.parse.unquote_plus(s3_record["s3"]["object"]["key"])
            table.put_item(Item={"pk": f"upload#{key}", "size": s3_record["s3"]["object"]["size"]})
    return {"batchItemFailures": failures}


def on_direct(event: dict, context: object) -> None:
    """An S3 notification straight to a function (no queue in between)."""
    table = boto3.resource("dynamodb").Table(os.environ["RESULTS_TABLE"])
    for record in event["Records"]:
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        table.put_item(Item={"pk": f"direct#{key}", "bucket": record["s3"]["bucket"]["name"]})


def on_topic(event: dict, context: object) -> None:
    table = boto3.resource("dynamodb").Table(os.environ["RESULTS_TABLE"])
    for record in event["Records"]:
        sns = record["Sns"]
        table.put_item(Item={"pk": f"sns#{sns['Message']}", "topic": sns["TopicArn"], "subject": sns["Subject"]})


def on_change(event: dict, context: object) -> None:
    table = boto3.resource("dynamodb").Table(os.environ["RESULTS_TABLE"])
    for record in event["Records"]:
        if "poison" in record["dynamodb"].get("NewImage", {}):
            raise ValueError("a record this function cannot handle")
        key = record["dynamodb"]["Keys"]["pk"]["S"]
        table.put_item(Item={"pk": f"change#{key}", "event": record["eventName"]})


def validate(event: dict, context: object) -> dict:
    if event.get("size", 0) <= 0:
        raise ValueError("empty image")
    return {**event, "valid": True}


def resize(event: dict, context: object) -> dict:
    return {**event, "resized": [event["size"] // 2, event["size"] // 4]}
