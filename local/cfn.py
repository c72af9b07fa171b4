"""CloudFormation's intrinsic functions, evaluated against local physical names.

The templates say ``{"Fn::GetAtt": ["UsersTable9725E9C8", "Arn"]}``, ``Fn::Join`` of an API id
and ``AWS::URLSuffix``, ``Fn::ImportValue`` of another stack's export, or ``Fn::GetStackOutput``
of another stack's output (a weak reference). CloudFormation turns those into names, ARNs and
URLs at deploy time; this module does the same for the local world: deterministic names
(``{stack}-{logicalId}``, without CloudFormation's random suffix), ARNs in a fixed account and
region, API Gateway endpoints rewritten to the loopback gateways, and the few values only the
emulated service knows (a secret's ARN suffix, a stream's timestamp, a queue's
URL) recorded by the provisioning step with :meth:`Resolver.set_physical`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local.assembly import CloudAssembly

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"

_EXECUTE_API = re.compile(
    r"(?P<scheme>https|wss|http|ws)://(?P<api>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com"
)
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class UnresolvableError(ValueError):
    """A value that has no local meaning (or a reference to something that does not exist)."""


@dataclass(frozen=True)
class ResourceRef:
    """One resource of one stack."""

    stack: str
    logical_id: str


def short_id(*parts: str, length: int = 10) -> str:
    """A stable lowercase id like API Gateway's (``a1b2c3d4e5``), derived from the resource's identity."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def generated_name(stack: str, logical_id: str, *, max_length: int, lower: bool = False) -> str:
    """CloudFormation's ``{stack}-{logicalId}`` name (no random suffix), shortened the way it shortens."""
    name = f"{stack}-{logical_id}"
    if lower:
        name = re.sub(r"[^a-z0-9-]", "-", name.lower())
    if len(name) > max_length:
        # A hash of the whole name keeps two long names apart once they are cut.
        name = f"{name[: max_length - 9]}-{short_id(name, length=8)}"
    return name


@dataclass
class Physical:
    """What ``Ref`` and ``Fn::GetAtt`` give for one resource."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiEndpoint:
    """Where an API Gateway API is served locally: its base URL per scheme."""

    api_id: str
    protocol: str  # "HTTP" or "WEBSOCKET"
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"{'ws' if self.protocol == 'WEBSOCKET' else 'http'}://{self.host}:{self.port}"

    def local_url(self, scheme: str) -> str:
        local_scheme = {"https": "http", "http": "http", "wss": "ws", "ws": "ws"}[scheme]
        return f"{local_scheme}://{self.host}:{self.port}"


class Resolver:
    """Evaluates intrinsic functions of any stack of one cloud assembly."""

    def __init__(
        self,
        assembly: CloudAssembly,
        *,
        api_endpoints: Mapping[str, ApiEndpoint] | None = None,
        account: str = ACCOUNT_ID,
        region: str = REGION,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.assembly = assembly
        self.account = account
        self.region = region
        self.api_endpoints: dict[str, ApiEndpoint] = dict(api_endpoints or {})
        self._overrides: dict[ResourceRef, Physical] = {}
        self._exports: dict[str, tuple[str, Any]] | None = None
        self._condition_cache: dict[tuple[str, str], bool] = {}
        self._warn = warn or (lambda _message: None)

    # -- physical names -------------------------------------------------------------------

    def resource(self, stack: str, logical_id: str) -> dict[str, Any]:
        try:
            resource: dict[str, Any] = self.assembly.templates[stack]["Resources"][logical_id]
        except KeyError:
            raise UnresolvableError(f"{stack} has no resource {logical_id}") from None
        return resource

    def set_physical(self, stack: str, logical_id: str, ref: str | None = None, **attributes: str) -> None:
        """Record what the emulated service answered (an ARN with a random suffix, a queue URL)."""
        key = ResourceRef(stack, logical_id)
        current = self._overrides.get(key) or self._default_physical(stack, logical_id)
        self._overrides[key] = Physical(
            ref=ref if ref is not None else current.ref, attributes={**current.attributes, **attributes}
        )

    def physical(self, stack: str, logical_id: str) -> Physical:
        return self._overrides.get(ResourceRef(stack, logical_id)) or self._default_physical(stack, logical_id)

    def physical_name(self, stack: str, logical_id: str) -> str:
        """The resource's name (the value ``Ref`` gives for most types; a queue's name, not its URL)."""
        physical = self.physical(stack, logical_id)
        for key in ("Name", "QueueName", "TopicName", "StateMachineName"):
            if key in physical.attributes:
                return physical.attributes[key]
        return physical.ref

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:{PARTITION}:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"

    def _default_physical(self, stack: str, logical_id: str) -> Physical:
        resource = self.resource(stack, logical_id)
        kind: str = resource["Type"]
        props: dict[str, Any] = resource.get("Properties") or {}

        def prop_name(key: str, max_length: int, *, lower: bool = False) -> str:
            value = props.get(key)
            if value is not None:
                return str(self.resolve(value, stack))
            return generated_name(stack, logical_id, max_length=max_length, lower=lower)

        if kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            name = prop_name("TableName", 255)
            return Physical(name, {"Arn": self.arn("dynamodb", f"table/{name}")})
        if kind == "AWS::S3::Bucket":
            name = prop_name("BucketName", 63, lower=True)
            return Physical(
                name,
                {
                    "Arn": f"arn:{PARTITION}:s3:::{name}",
                    "DomainName": f"{name}.s3.{URL_SUFFIX}",
                    "RegionalDomainName": f"{name}.s3.{self.region}.{URL_SUFFIX}",
                    "DualStackDomainName": f"{name}.s3.dualstack.{self.region}.{URL_SUFFIX}",
                    "WebsiteURL": f"http://{name}.s3-website-{self.region}.{URL_SUFFIX}",
                },
            )
        if kind == "AWS::SQS::Queue":
            fifo = bool(props.get("FifoQueue"))
            name = prop_name("QueueName", 80 - (5 if fifo else 0))
            if fifo and not name.endswith(".fifo"):
                name += ".fifo"
            url = f"https://sqs.{self.region}.{URL_SUFFIX}/{self.account}/{name}"
            return Physical(url, {"Arn": self.arn("sqs", name), "QueueName": name, "QueueUrl": url})
        if kind == "AWS::SNS::Topic":
            name = prop_name("TopicName", 256)
            arn = self.arn("sns", name)
            return Physical(arn, {"TopicArn": arn, "TopicName": name})
        if kind == "AWS::SecretsManager::Secret":
            name = prop_name("Name", 512)
            arn = self.arn("secretsmanager", f"secret:{name}")
            return Physical(arn, {"Id": arn, "Name": name})
        if kind == "AWS::Lambda::Function":
            name = prop_name("FunctionName", 64)
            return Physical(name, {"Arn": self.arn("lambda", f"function:{name}")})
        if kind in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
            # A qualified ARN of the function (``...:function:<name>:live``), as CloudFormation's Ref
            # gives it; integrations naming it reach the function's local workers, which have no versions.
            function = str(self.resolve(props.get("FunctionName"), stack))
            function = function.split(":function:", 1)[-1].split(":", 1)[0]
            qualifier = str(self.resolve(props.get("Name"), stack)) if kind == "AWS::Lambda::Alias" else "1"
            arn = self.arn("lambda", f"function:{function}:{qualifier}")
            return Physical(arn, {"AliasArn": arn, "Version": qualifier, "FunctionArn": arn})
        if kind == "AWS::StepFunctions::StateMachine":
            name = prop_name("StateMachineName", 80)
            arn = self.arn("states", f"stateMachine:{name}")
            return Physical(arn, {"Arn": arn, "Name": name, "StateMachineName": name})
        if kind == "AWS::ApiGatewayV2::Api":
            api_id = short_id(stack, logical_id)
            endpoint = self.api_endpoints.get(api_id)
            protocol = str(props.get("ProtocolType", "HTTP"))
            scheme = "wss" if protocol == "WEBSOCKET" else "https"
            url = endpoint.base_url if endpoint else f"{scheme}://{api_id}.execute-api.{self.region}.{URL_SUFFIX}"
            return Physical(api_id, {"ApiId": api_id, "ApiEndpoint": url})
        if kind == "AWS::ApiGatewayV2::Stage":
            return Physical(str(self.resolve(props.get("StageName", "$default"), stack)))
        if kind.startswith("AWS::ApiGatewayV2::"):
            resource_id = short_id(stack, logical_id, length=7)
            return Physical(resource_id, {f"{kind.rsplit('::', 1)[-1]}Id": resource_id})
        if kind == "AWS::IAM::Role":
            name = prop_name("RoleName", 64)
            return Physical(name, {"Arn": f"arn:{PARTITION}:iam::{self.account}:role/{name}", "RoleId": short_id(name)})
        if kind == "AWS::Logs::LogGroup":
            name = prop_name("LogGroupName", 512)
            return Physical(name, {"Arn": self.arn("logs", f"log-group:{name}:*")})
        if kind == "AWS::SES::EmailIdentity":
            return Physical(str(self.resolve(props["EmailIdentity"], stack)))
        if kind == "AWS::KMS::Key":
            key_id = short_id(stack, logical_id, length=32)
            return Physical(key_id, {"Arn": self.arn("kms", f"key/{key_id}"), "KeyId": key_id})
        name = generated_name(stack, logical_id, max_length=255)
        service = kind.split("::")[1].lower() if kind.count("::") >= 2 else "cloudformation"
        return Physical(name, {"Arn": self.arn(service, name)})

    # -- intrinsic functions ---------------------------------------------------------------

    def resolve(self, value: Any, stack: str) -> Any:
        """Evaluate every intrinsic function in ``value`` (a template fragment of ``stack``)."""
        resolved = self._resolve(value, stack)
        return None if resolved is _NO_VALUE else self._localize(resolved)

    def resolve_str(self, value: Any, stack: str) -> str:
        resolved = self.resolve(value, stack)
        if isinstance(resolved, (dict, list)):
            return json.dumps(resolved)
        return "" if resolved is None else str(resolved)

    def condition(self, stack: str, name: str) -> bool:
        key = (stack, name)
        if key not in self._condition_cache:
            conditions = self.assembly.templates[stack].get("Conditions", {})
            if name not in conditions:
                raise UnresolvableError(f"{stack} has no condition {name}")
            self._condition_cache[key] = bool(self._resolve(conditions[name], stack))
        return self._condition_cache[key]

    def is_active(self, stack: str, resource: Mapping[str, Any]) -> bool:
        """False for a resource whose ``Condition`` is false (CloudFormation would not create it)."""
        name = resource.get("Condition")
        return True if name is None else self.condition(stack, str(name))

    def _localize(self, value: Any) -> Any:
        """Point API Gateway URLs built by ``Fn::Join`` (a stage's URL, a callback URL) at the local gateways."""
        if isinstance(value, str):
            return _EXECUTE_API.sub(self._local_api_url, value)
        if isinstance(value, list):
            return [self._localize(v) for v in value]
        if isinstance(value, dict):
            return {k: self._localize(v) for k, v in value.items()}
        return value

    def _local_api_url(self, match: re.Match[str]) -> str:
        endpoint = self.api_endpoints.get(match.group("api"))
        return endpoint.local_url(match.group("scheme")) if endpoint else match.group(0)

    def _resolve(self, value: Any, stack: str) -> Any:
        if isinstance(value, list):
            elements = [self._resolve(v, stack) for v in value]
            return [v for v in elements if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = _INTRINSICS.get(key)
            if handler is not None:
                return handler(self, argument, stack)
        items = {k: self._resolve(v, stack) for k, v in value.items()}
        return {k: v for k, v in items.items() if v is not _NO_VALUE}

    def _ref(self, name: str, stack: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackName": stack,
            "AWS::StackId": self.arn("cloudformation", f"stack/{stack}/{short_id(stack, length=36)}"),
            "AWS::NotificationARNs": [],
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        template = self.assembly.templates[stack]
        parameters = template.get("Parameters", {})
        if name in parameters:
            return parameters[name].get("Default", "")
        if name in template.get("Resources", {}):
            return self.physical(stack, name).ref
        raise UnresolvableError(f"{stack}: Ref to unknown {name}")

    def _get_att(self, argument: Any, stack: str) -> Any:
        if isinstance(argument, str):
            logical_id, _, attribute = argument.partition(".")
        else:
            logical_id, attribute = argument[0], self._resolve(argument[1], stack)
        physical = self.physical(stack, logical_id)
        if attribute in physical.attributes:
            return physical.attributes[attribute]
        kind = self.resource(stack, logical_id)["Type"]
        raise UnresolvableError(f"{stack}: {kind} {logical_id} has no local value for attribute {attribute}")

    def _join(self, argument: Any, stack: str) -> str:
        delimiter, parts = argument
        values = self._resolve(parts, stack)
        return str(delimiter).join(_stringify(v) for v in values)

    def _sub(self, argument: Any, stack: str) -> str:
        if isinstance(argument, str):
            template, variables = argument, {}
        else:
            template, variables = argument[0], {k: self._resolve(v, stack) for k, v in argument[1].items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _stringify(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return _stringify(self._get_att(name, stack))
            return _stringify(self._ref(name, stack))

        return _SUB_VARIABLE.sub(replace, template)

    def _import_value(self, argument: Any, stack: str) -> Any:
        name = self._resolve(argument, stack)
        exports = self._export_index()
        if name not in exports:
            raise UnresolvableError(f"{stack}: no stack exports {name}")
        exporting_stack, value = exports[name]
        return self._resolve(value, exporting_stack)

    def _get_stack_output(self, argument: Any, stack: str) -> Any:
        """CDK's weak cross-stack reference: another stack's output by name, no export involved."""
        producer = str(self._resolve(argument["StackName"], stack))
        name = str(self._resolve(argument["OutputName"], stack))
        outputs = self.assembly.templates.get(producer, {}).get("Outputs", {})
        if name not in outputs:
            raise UnresolvableError(f"{stack}: {producer} has no output {name}")
        return self._resolve(outputs[name]["Value"], producer)

    def _export_index(self) -> dict[str, tuple[str, Any]]:
        if self._exports is None:
            self._exports = {}
            for stack, template in self.assembly.templates.items():
                for output in template.get("Outputs", {}).values():
                    export = output.get("Export")
                    if export:
                        self._exports[str(self._resolve(export["Name"], stack))] = (stack, output["Value"])
        return self._exports

    def _select(self, argument: Any, stack: str) -> Any:
        index, values = argument
        return self._resolve(values, stack)[int(self._resolve(index, stack))]

    def _split(self, argument: Any, stack: str) -> list[str]:
        delimiter, source = argument
        return str(self._resolve(source, stack)).split(delimiter)

    def _if(self, argument: Any, stack: str) -> Any:
        name, when_true, when_false = argument
        return self._resolve(when_true if self.condition(stack, name) else when_false, stack)

    def _find_in_map(self, argument: Any, stack: str) -> Any:
        name, top, second = (self._resolve(a, stack) for a in argument[:3])
        return self.assembly.templates[stack]["Mappings"][name][top][second]


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


_NO_VALUE = _NoValue()


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


_INTRINSICS: dict[str, Callable[[Resolver, Any, str], Any]] = {
    "Ref": lambda r, a, s: r._ref(a, s),
    "Fn::GetAtt": lambda r, a, s: r._get_att(a, s),
    "Fn::Join": lambda r, a, s: r._join(a, s),
    "Fn::Sub": lambda r, a, s: r._sub(a, s),
    "Fn::ImportValue": lambda r, a, s: r._import_value(a, s),
    "Fn::GetStackOutput": lambda r, a, s: r._get_stack_output(a, s),
    "Fn::Select": lambda r, a, s: r._select(a, s),
    "Fn::Split": lambda r, a, s: r._split(a, s),
    "Fn::If": lambda r, a, s: r._if(a, s),
    "Fn::FindInMap": lambda r, a, s: r._find_in_map(a, s),
    "Fn::Base64": lambda r, a, s: base64.b64encode(str(r._resolve(a, s)).encode()).decode(),
    "Fn::GetAZs": lambda r, a, s: [f"{r.region}{z}" for z in "abc"],
    "Fn::Equals": lambda r, a, s: r._resolve(a[0], s) == r._resolve(a[1], s),
    "Fn::Not": lambda r, a, s: not r._resolve(a[0], s),
    "Fn::And": lambda r, a, s: all(r._resolve(x, s) for x in a),
    "Fn::Or": lambda r, a, s: any(r._resolve(x, s) for x in a),
    "Condition": lambda r, a, s: r.condition(s, a),
}
