"""Intrinsic functions evaluated against the local world's names and endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.assembly import CloudAssembly
from local.cfn import ApiEndpoint, Resolver, UnresolvableError, generated_name, short_id

DATA: dict[str, Any] = {
    "Resources": {
        "UsersTableABCD1234": {"Type": "AWS::DynamoDB::GlobalTable", "Properties": {}},
        "UploadsBucketABCD1234": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "OnlyInProd": {"Type": "AWS::SQS::Queue", "Condition": "IsProd", "Properties": {}},
        "ChatFunctionABCD1234": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "ChatLiveABCD1234": {
            "Type": "AWS::Lambda::Alias",
            "Properties": {"FunctionName": {"Ref": "ChatFunctionABCD1234"}, "Name": "live", "FunctionVersion": "1"},
        },
    },
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}},
    "Outputs": {
        "ExportUsersArn": {
            "Value": {"Fn::GetAtt": ["UsersTableABCD1234", "Arn"]},
            "Export": {"Name": "Data:UsersArn"},
        }
    },
}
REALTIME: dict[str, Any] = {
    "Resources": {
        "WsApi1234ABCD": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "WEBSOCKET"}},
        "WsStage1234ABCD": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"StageName": "dev"}},
    }
}


@pytest.fixture
def resolver(tmp_path: Path) -> Resolver:
    assembly = CloudAssembly(outdir=tmp_path, templates={"App-data": DATA, "App-realtime": REALTIME})
    api_id = short_id("App-realtime", "WsApi1234ABCD")
    return Resolver(assembly, api_endpoints={api_id: ApiEndpoint(api_id, "WEBSOCKET", "127.0.0.1", 3001)})


def test_names_follow_cloudformation_without_the_random_suffix(resolver: Resolver) -> None:
    assert resolver.resolve({"Ref": "UsersTableABCD1234"}, "App-data") == "App-data-UsersTableABCD1234"
    assert resolver.resolve({"Ref": "UploadsBucketABCD1234"}, "App-data") == "app-data-uploadsbucketabcd1234"
    assert resolver.resolve({"Fn::GetAtt": ["UsersTableABCD1234", "Arn"]}, "App-data") == (
        "arn:aws:dynamodb:us-east-1:123456789012:table/App-data-UsersTableABCD1234"
    )


def test_an_alias_is_the_functions_qualified_arn(resolver: Resolver) -> None:
    # API integrations name the alias when a stage provisions concurrency (stacks.constructs.python_function).
    assert resolver.resolve({"Ref": "ChatLiveABCD1234"}, "App-data") == (
        "arn:aws:lambda:us-east-1:123456789012:function:App-data-ChatFunctionABCD1234:live"
    )


def test_import_value_reads_the_other_stacks_export(resolver: Resolver) -> None:
    value = resolver.resolve({"Fn::ImportValue": "Data:UsersArn"}, "App-realtime")
    assert value.endswith(":table/App-data-UsersTableABCD1234")


def test_get_stack_output_reads_the_other_stacks_output(resolver: Resolver) -> None:
    reference = {"StackName": "App-data", "Region": {"Ref": "AWS::Region"}, "OutputName": "ExportUsersArn"}
    value = resolver.resolve({"Fn::GetStackOutput": reference}, "App-realtime")
    assert value.endswith(":table/App-data-UsersTableABCD1234")
    with pytest.raises(UnresolvableError):
        resolver.resolve({"Fn::GetStackOutput": {**reference, "OutputName": "Nope"}}, "App-realtime")


def test_join_and_sub(resolver: Resolver) -> None:
    joined = resolver.resolve({"Fn::Join": ["/", [{"Ref": "AWS::Region"}, {"Ref": "AWS::AccountId"}]]}, "App-data")
    assert joined == "us-east-1/123456789012"
    sub = resolver.resolve({"Fn::Sub": ["${T}-${AWS::Partition}-${!Literal}", {"T": "x"}]}, "App-data")
    assert sub == "x-aws-${Literal}"
    assert resolver.resolve({"Fn::Sub": "${UsersTableABCD1234.Arn}"}, "App-data").startswith("arn:aws:dynamodb:")


def test_api_gateway_urls_built_by_join_point_at_the_local_gateway(resolver: Resolver) -> None:
    stage_url = {
        "Fn::Join": [
            "",
            [
                "wss://",
                {"Ref": "WsApi1234ABCD"},
                ".execute-api.",
                {"Ref": "AWS::Region"},
                ".",
                {"Ref": "AWS::URLSuffix"},
                "/",
                {"Ref": "WsStage1234ABCD"},
            ],
        ]
    }
    callback = {"Fn::Join": ["", ["https://", {"Ref": "WsApi1234ABCD"}, ".execute-api.us-east-1.amazonaws.com/dev"]]}
    assert resolver.resolve(stage_url, "App-realtime") == "ws://127.0.0.1:3001/dev"
    assert resolver.resolve(callback, "App-realtime") == "http://127.0.0.1:3001/dev"
    assert resolver.resolve({"Fn::GetAtt": ["WsApi1234ABCD", "ApiEndpoint"]}, "App-realtime") == "ws://127.0.0.1:3001"


def test_values_the_service_assigns_override_the_defaults(resolver: Resolver) -> None:
    resolver.set_physical("App-data", "UsersTableABCD1234", StreamArn="arn:aws:dynamodb:...:stream/2026")
    assert resolver.resolve({"Fn::GetAtt": ["UsersTableABCD1234", "StreamArn"]}, "App-data").endswith("/2026")
    assert resolver.resolve({"Ref": "UsersTableABCD1234"}, "App-data") == "App-data-UsersTableABCD1234"


def test_conditions_and_no_value(resolver: Resolver) -> None:
    assert resolver.is_active("App-data", DATA["Resources"]["OnlyInProd"]) is False
    value = {"Fn::If": ["IsProd", "prod", {"Ref": "AWS::NoValue"}]}
    assert resolver.resolve({"A": value, "B": 1}, "App-data") == {"B": 1}


def test_an_attribute_without_a_local_value_is_an_error(resolver: Resolver) -> None:
    with pytest.raises(UnresolvableError):
        resolver.resolve({"Fn::GetAtt": ["UsersTableABCD1234", "StreamArn"]}, "App-data")
    with pytest.raises(UnresolvableError):
        resolver.resolve({"Ref": "Missing"}, "App-data")


def test_long_generated_names_are_cut_but_stay_distinct() -> None:
    a = generated_name("Stack", "A" * 80 + "1", max_length=64)
    b = generated_name("Stack", "A" * 80 + "2", max_length=64)
    assert len(a) == len(b) == 64
    assert a != b
