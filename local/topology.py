"""What the local runtime serves, read from the cloud assembly and nowhere else.

Every list here (functions, routes, authorizers, queues, mappings, state machines, ...) is
built by walking the templates' resources by type, so a route, table or queue added to a stack
appears locally with no change to this package.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.assembly import CloudAssembly, TableSpec
from local.cfn import Resolver, UnresolvableError

_LAMBDA_URI = re.compile(r"functions/(?P<arn>arn:[^/]+)/invocations")
_HASH_SUFFIX = re.compile(r"[0-9A-F]{8}$")

DEFAULT_TIMEOUT_SECONDS = 3.0
DEFAULT_MEMORY_MB = 128
HTTP_INTEGRATION_TIMEOUT_SECONDS = 30.0
WEBSOCKET_INTEGRATION_TIMEOUT_SECONDS = 29.0


def display_name(logical_id: str) -> str:
    """``HealthFunction64F2C32C`` -> ``HealthFunction``: the name a person reads in a log line."""
    return _HASH_SUFFIX.sub("", logical_id) or logical_id


@dataclass
class FunctionSpec:
    """A Lambda function and how Lambda would run it."""

    stack: str
    logical_id: str
    name: str
    arn: str
    handler: str
    runtime: str
    code_root: Path | None
    environment: dict[str, str]
    timeout: float
    memory_mb: int
    reserved_concurrency: int | None
    problem: str | None = None

    @property
    def display(self) -> str:
        return display_name(self.logical_id)

    @property
    def runnable(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Integration:
    """An API Gateway integration; locally only Lambda proxy integrations run."""

    function: str | None
    payload_version: str
    timeout: float
    kind: str
    uri: str


@dataclass(frozen=True)
class Authorizer:
    """A Lambda REQUEST authorizer (HTTP or WebSocket API) or an HTTP API JWT authorizer."""

    authorizer_id: str
    name: str
    kind: str
    function: str | None
    identity_sources: tuple[str, ...]
    payload_version: str
    simple_responses: bool
    ttl_seconds: int
    jwt_issuer: str | None = None
    jwt_audience: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """A route key and what runs behind it."""

    key: str
    integration: Integration | None
    authorization_type: str
    authorizer: Authorizer | None
    two_way: bool
    stack: str
    logical_id: str


@dataclass(frozen=True)
class CorsConfig:
    """An HTTP API's CORS configuration, as API Gateway applies it."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    max_age: int | None
    allow_credentials: bool


@dataclass
class ApiSpec:
    """An API Gateway v2 API (HTTP or WebSocket) with its routes."""

    stack: str
    logical_id: str
    api_id: str
    name: str
    protocol: str
    routes: list[Route] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    cors: CorsConfig | None = None
    route_selection_expression: str = "$request.body.action"

    @property
    def stage(self) -> str:
        return self.stages[0] if self.stages else "$default"


@dataclass(frozen=True)
class EventSourceMappingSpec:
    """A Lambda event source mapping (SQS queue or DynamoDB stream)."""

    logical_id: str
    function: str
    source_arn: str
    kind: str
    batch_size: int
    batching_window: float
    starting_position: str
    report_batch_item_failures: bool
    filters: tuple[dict[str, Any], ...]
    maximum_retry_attempts: int
    bisect_on_error: bool
    on_failure_arn: str | None
    enabled: bool
    maximum_concurrency: int


@dataclass(frozen=True)
class BucketSpec:
    stack: str
    logical_id: str
    name: str
    cors_rules: tuple[dict[str, Any], ...]
    notifications: dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class QueueSpec:
    stack: str
    logical_id: str
    name: str
    attributes: dict[str, str]
    dead_letter_arn: str | None


@dataclass(frozen=True)
class TopicSpec:
    stack: str
    logical_id: str
    name: str
    subscriptions: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class SecretSpec:
    stack: str
    logical_id: str
    name: str
    description: str
    secret_string: str | None
    generate: dict[str, Any] | None


@dataclass(frozen=True)
class StateMachineSpec:
    stack: str
    logical_id: str
    name: str
    definition: str
    kind: str
    role_arn: str


@dataclass
class Topology:
    """Everything the runtime creates and serves, for one cloud assembly."""

    assembly: CloudAssembly
    resolver: Resolver
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    http_apis: list[ApiSpec] = field(default_factory=list)
    websocket_apis: list[ApiSpec] = field(default_factory=list)
    mappings: list[EventSourceMappingSpec] = field(default_factory=list)
    tables: list[TableSpec] = field(default_factory=list)
    buckets: list[BucketSpec] = field(default_factory=list)
    queues: list[QueueSpec] = field(default_factory=list)
    topics: list[TopicSpec] = field(default_factory=list)
    secrets: list[SecretSpec] = field(default_factory=list)
    email_identities: list[str] = field(default_factory=list)
    state_machines: list[StateMachineSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def function_for(self, reference: str) -> FunctionSpec | None:
        """A function by name, ARN, or qualified ARN (``...:function:name:$LATEST``)."""
        if reference in self.functions:
            return self.functions[reference]
        match = re.search(r":function:([^:]+)", reference)
        name = match.group(1) if match else reference.split(":")[0]
        return self.functions.get(name)

    def resolve_str(self, value: Any, stack: str, where: str) -> str:
        try:
            return self.resolver.resolve_str(value, stack)
        except UnresolvableError as error:
            self.warnings.append(f"{where}: {error}")
            return ""


def _properties(topology: Topology, stack: str, logical_id: str, resource: dict[str, Any]) -> dict[str, Any]:
    """A resource's properties with intrinsics evaluated; a property with no local meaning is left out."""
    result: dict[str, Any] = {}
    for key, value in (resource.get("Properties") or {}).items():
        try:
            result[key] = topology.resolver.resolve(value, stack)
        except UnresolvableError as error:
            if key != "Tags":
                topology.warnings.append(f"{stack}/{logical_id} {key}: {error}")
    return result


def _active(topology: Topology, *types: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (stack, logical_id, resource)
        for stack, logical_id, resource in topology.assembly.resources(*types)
        if topology.resolver.is_active(stack, resource)
    ]


def _asset_source(assembly: CloudAssembly, stack: str, object_key: str) -> Path | None:
    """The folder an asset was staged from: the source tree itself when bundling was skipped."""
    asset_hash = object_key.split(".")[0]
    for manifest_path in assembly.outdir.glob("*.assets.json"):
        manifest = json.loads(manifest_path.read_text())
        entry = manifest.get("files", {}).get(asset_hash)
        if entry:
            source = Path(entry["source"]["path"])
            return source if source.is_absolute() else assembly.outdir / source
    return None


def _code_root(source: Path, handler: str) -> Path | None:
    """Where ``handler``'s module is importable from.

    A bundle may place the source folder under its own name (``runtime/`` holding
    ``runtime.health.handler``), so the folder's parent is tried after the folder.
    """
    module = handler.rsplit(".", 1)[0].replace(".", "/")
    for root in (source, source.parent):
        if (root / f"{module}.py").exists() or (root / module / "__init__.py").exists():
            return root
    return None


def _functions(topology: Topology, inline_dir: Path) -> None:
    resolver = topology.resolver
    for stack, logical_id, resource in _active(topology, "AWS::Lambda::Function"):
        props = resource.get("Properties", {})
        physical = resolver.physical(stack, logical_id)
        where = f"{stack}/{logical_id}"
        handler = str(props.get("Handler", ""))
        runtime = str(props.get("Runtime", ""))
        environment = {
            key: topology.resolve_str(value, stack, f"{where} environment {key}")
            for key, value in ((props.get("Environment") or {}).get("Variables") or {}).items()
        }
        spec = FunctionSpec(
            stack=stack,
            logical_id=logical_id,
            name=physical.ref,
            arn=physical.attributes["Arn"],
            handler=handler,
            runtime=runtime,
            code_root=None,
            environment=environment,
            timeout=float(props.get("Timeout", DEFAULT_TIMEOUT_SECONDS)),
            memory_mb=int(props.get("MemorySize", DEFAULT_MEMORY_MB)),
            reserved_concurrency=props.get("ReservedConcurrentExecutions"),
        )
        code = props.get("Code") or {}
        if not runtime.startswith("python"):
            spec.problem = f"runtime {runtime or 'container image'} is not Python"
        elif "ZipFile" in code:
            folder = inline_dir / spec.name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{handler.rsplit('.', 1)[0]}.py").write_text(topology.resolve_str(code["ZipFile"], stack, where))
            spec.code_root = folder
        else:
            key = topology.resolve_str(code.get("S3Key", ""), stack, f"{where} code")
            source = _asset_source(topology.assembly, stack, key) if key else None
            root = _code_root(source, handler) if source else None
            if root is None:
                spec.problem = f"no local source for handler {handler}"
            spec.code_root = root
        topology.functions[spec.name] = spec


def _function_from_uri(topology: Topology, uri: str) -> str | None:
    match = _LAMBDA_URI.search(uri)
    arn = match.group("arn") if match else uri
    function = topology.function_for(arn)
    return function.name if function else None


def _integrations(topology: Topology) -> dict[str, Integration]:
    """Integrations by their local id, as routes name them in ``integrations/<id>``."""
    result: dict[str, Integration] = {}
    for stack, logical_id, resource in _active(topology, "AWS::ApiGatewayV2::Integration"):
        props = resource.get("Properties", {})
        uri = topology.resolve_str(props.get("IntegrationUri", ""), stack, f"{stack}/{logical_id}")
        kind = str(props.get("IntegrationType", "AWS_PROXY"))
        timeout_ms = props.get("TimeoutInMillis")
        default_timeout = HTTP_INTEGRATION_TIMEOUT_SECONDS
        integration_id = topology.resolver.physical(stack, logical_id).ref
        result[integration_id] = Integration(
            function=_function_from_uri(topology, uri) if kind == "AWS_PROXY" else None,
            payload_version=str(props.get("PayloadFormatVersion", "1.0")),
            timeout=float(timeout_ms) / 1000 if timeout_ms else default_timeout,
            kind=kind,
            uri=uri,
        )
    return result


def _authorizers(topology: Topology) -> dict[str, Authorizer]:
    result: dict[str, Authorizer] = {}
    for stack, logical_id, resource in _active(topology, "AWS::ApiGatewayV2::Authorizer"):
        props = resource.get("Properties", {})
        where = f"{stack}/{logical_id}"
        uri = topology.resolve_str(props.get("AuthorizerUri", ""), stack, where)
        jwt = props.get("JwtConfiguration") or {}
        authorizer_id = topology.resolver.physical(stack, logical_id).ref
        sources = topology.resolver.resolve(props.get("IdentitySource") or [], stack)
        result[authorizer_id] = Authorizer(
            authorizer_id=authorizer_id,
            name=str(props.get("Name", logical_id)),
            kind=str(props.get("AuthorizerType", "REQUEST")),
            function=_function_from_uri(topology, uri) if uri else None,
            identity_sources=tuple(str(s) for s in (sources if isinstance(sources, list) else [sources])),
            payload_version=str(props.get("AuthorizerPayloadFormatVersion", "1.0")),
            simple_responses=bool(props.get("EnableSimpleResponses", False)),
            ttl_seconds=int(props.get("AuthorizerResultTtlInSeconds", 0) or 0),
            jwt_issuer=topology.resolve_str(jwt["Issuer"], stack, where) if jwt.get("Issuer") else None,
            jwt_audience=tuple(topology.resolver.resolve(jwt.get("Audience") or [], stack)),
        )
    return result


def _cors(props: dict[str, Any]) -> CorsConfig | None:
    cors = props.get("CorsConfiguration")
    if not cors:
        return None
    return CorsConfig(
        allow_origins=tuple(cors.get("AllowOrigins", ())),
        allow_methods=tuple(m.upper() for m in cors.get("AllowMethods", ())),
        allow_headers=tuple(h.lower() for h in cors.get("AllowHeaders", ())),
        expose_headers=tuple(h.lower() for h in cors.get("ExposeHeaders", ())),
        max_age=cors.get("MaxAge"),
        allow_credentials=bool(cors.get("AllowCredentials", False)),
    )


def _apis(topology: Topology) -> None:
    resolver = topology.resolver
    apis: dict[str, ApiSpec] = {}
    for stack, logical_id, resource in _active(topology, "AWS::ApiGatewayV2::Api"):
        props = resource.get("Properties", {})
        api = ApiSpec(
            stack=stack,
            logical_id=logical_id,
            api_id=resolver.physical(stack, logical_id).ref,
            name=topology.resolve_str(props.get("Name", logical_id), stack, logical_id),
            protocol=str(props.get("ProtocolType", "HTTP")),
            cors=_cors(props),
            route_selection_expression=str(props.get("RouteSelectionExpression", "$request.body.action")),
        )
        apis[api.api_id] = api
        (topology.websocket_apis if api.protocol == "WEBSOCKET" else topology.http_apis).append(api)

    for stack, logical_id, resource in _active(topology, "AWS::ApiGatewayV2::Stage"):
        props = resource.get("Properties", {})
        api_id = topology.resolve_str(props.get("ApiId"), stack, f"{stack}/{logical_id}")
        if api_id in apis:
            apis[api_id].stages.append(topology.resolve_str(props.get("StageName", "$default"), stack, logical_id))

    integrations = _integrations(topology)
    authorizers = _authorizers(topology)
    two_way_routes = set()
    for stack, logical_id, resource in _active(topology, "AWS::ApiGatewayV2::RouteResponse"):
        props = resource.get("Properties", {})
        two_way_routes.add(topology.resolve_str(props.get("RouteId"), stack, f"{stack}/{logical_id}"))

    for stack, logical_id, resource in _active(topology, "AWS::ApiGatewayV2::Route"):
        props = resource.get("Properties", {})
        where = f"{stack}/{logical_id}"
        api_id = topology.resolve_str(props.get("ApiId"), stack, where)
        owner = apis.get(api_id)
        if owner is None:
            topology.warnings.append(f"{where}: route of an API that is not in the templates")
            continue
        target = topology.resolve_str(props.get("Target", ""), stack, where)
        integration = integrations.get(target.removeprefix("integrations/")) if target else None
        authorizer_id = topology.resolve_str(props["AuthorizerId"], stack, where) if props.get("AuthorizerId") else None
        route_id = resolver.physical(stack, logical_id).ref
        owner.routes.append(
            Route(
                key=topology.resolve_str(props.get("RouteKey"), stack, where),
                integration=integration,
                authorization_type=str(props.get("AuthorizationType", "NONE")),
                authorizer=authorizers.get(authorizer_id) if authorizer_id else None,
                two_way=route_id in two_way_routes,
                stack=stack,
                logical_id=logical_id,
            )
        )
        if integration and integration.kind == "AWS_PROXY" and integration.function is None:
            topology.warnings.append(f"{where}: integration {integration.uri} names no function of the templates")
        elif integration and integration.kind != "AWS_PROXY":
            topology.warnings.append(f"{where}: {integration.kind} integrations are not served locally")


def _mappings(topology: Topology) -> None:
    for stack, logical_id, resource in _active(topology, "AWS::Lambda::EventSourceMapping"):
        props = resource.get("Properties", {})
        where = f"{stack}/{logical_id}"
        function = topology.function_for(topology.resolve_str(props.get("FunctionName"), stack, where))
        source = topology.resolve_str(props.get("EventSourceArn", ""), stack, where)
        if function is None or not source:
            topology.warnings.append(f"{where}: event source mapping without a local function or source")
            continue
        kind = source.split(":")[2] if source.count(":") >= 2 else "unknown"
        filters = tuple(
            json.loads(f["Pattern"]) if isinstance(f.get("Pattern"), str) else f.get("Pattern", {})
            for f in (topology.resolver.resolve(props.get("FilterCriteria") or {}, stack).get("Filters") or [])
        )
        destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        scaling = props.get("ScalingConfig") or {}
        topology.mappings.append(
            EventSourceMappingSpec(
                logical_id=logical_id,
                function=function.name,
                source_arn=source,
                kind=kind,
                batch_size=int(props.get("BatchSize", 10 if kind == "sqs" else 100)),
                batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                starting_position=str(props.get("StartingPosition", "LATEST")),
                report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                filters=filters,
                maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
                on_failure_arn=topology.resolve_str(destination, stack, where) if destination else None,
                enabled=bool(props.get("Enabled", True)),
                maximum_concurrency=int(scaling.get("MaximumConcurrency", 2)),
            )
        )


def _s3_filter(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}


def _buckets(topology: Topology) -> None:
    resolver = topology.resolver
    notifications: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def add(bucket: str, kind: str, entry: dict[str, Any]) -> None:
        notifications.setdefault(bucket, {}).setdefault(kind, []).append(entry)

    # CDK's bucket.add_event_notification() writes a custom resource that carries the exact
    # PutBucketNotificationConfiguration payload.
    for stack, logical_id, resource in _active(topology, "Custom::S3BucketNotifications"):
        props = _properties(topology, stack, logical_id, resource)
        for kind, entries in (props.get("NotificationConfiguration") or {}).items():
            for entry in entries:
                add(str(props["BucketName"]), kind, entry)

    for stack, logical_id, resource in _active(topology, "AWS::S3::Bucket"):
        props = resource.get("Properties", {})
        name = resolver.physical(stack, logical_id).ref
        config = resolver.resolve(props.get("NotificationConfiguration") or {}, stack)
        for entry in config.get("QueueConfigurations", []):
            rules = ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules", [])
            add(
                name,
                "QueueConfigurations",
                {
                    "QueueArn": entry["Queue"],
                    "Events": [entry["Event"]],
                    **({"Filter": _s3_filter(rules)} if rules else {}),
                },
            )
        for entry in config.get("LambdaConfigurations", []):
            rules = ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules", [])
            add(
                name,
                "LambdaFunctionConfigurations",
                {
                    "LambdaFunctionArn": entry["Function"],
                    "Events": [entry["Event"]],
                    **({"Filter": _s3_filter(rules)} if rules else {}),
                },
            )
        for entry in config.get("TopicConfigurations", []):
            rules = ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules", [])
            add(
                name,
                "TopicConfigurations",
                {
                    "TopicArn": entry["Topic"],
                    "Events": [entry["Event"]],
                    **({"Filter": _s3_filter(rules)} if rules else {}),
                },
            )
        cors_rules = []
        for rule in (resolver.resolve(props.get("CorsConfiguration") or {}, stack)).get("CorsRules", []):
            api_rule: dict[str, Any] = {
                "AllowedMethods": rule["AllowedMethods"],
                "AllowedOrigins": rule["AllowedOrigins"],
            }
            if rule.get("AllowedHeaders"):
                api_rule["AllowedHeaders"] = rule["AllowedHeaders"]
            if rule.get("ExposedHeaders"):
                api_rule["ExposeHeaders"] = rule["ExposedHeaders"]
            if rule.get("MaxAge") is not None:
                api_rule["MaxAgeSeconds"] = int(rule["MaxAge"])
            if rule.get("Id"):
                api_rule["ID"] = rule["Id"]
            cors_rules.append(api_rule)
        topology.buckets.append(
            BucketSpec(stack=stack, logical_id=logical_id, name=name, cors_rules=tuple(cors_rules), notifications={})
        )
    topology.buckets = [
        BucketSpec(b.stack, b.logical_id, b.name, b.cors_rules, notifications.get(b.name, {})) for b in topology.buckets
    ]
    for bucket, config in notifications.items():
        if "EventBridgeConfiguration" in config:
            topology.warnings.append(f"bucket {bucket}: EventBridge notifications are not delivered locally")


_QUEUE_ATTRIBUTES = {
    "VisibilityTimeout": "VisibilityTimeout",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "DelaySeconds": "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "MaximumMessageSize": "MaximumMessageSize",
    "FifoQueue": "FifoQueue",
    "ContentBasedDeduplication": "ContentBasedDeduplication",
}


def _queues(topology: Topology) -> None:
    resolver = topology.resolver
    for stack, logical_id, resource in _active(topology, "AWS::SQS::Queue"):
        props = _properties(topology, stack, logical_id, resource)
        attributes = {
            api: (str(props[key]).lower() if isinstance(props[key], bool) else str(props[key]))
            for key, api in _QUEUE_ATTRIBUTES.items()
            if key in props
        }
        redrive = props.get("RedrivePolicy")
        if redrive:
            redrive = json.loads(redrive) if isinstance(redrive, str) else redrive
            attributes["RedrivePolicy"] = json.dumps(redrive)
        topology.queues.append(
            QueueSpec(
                stack=stack,
                logical_id=logical_id,
                name=resolver.physical(stack, logical_id).attributes["QueueName"],
                attributes=attributes,
                dead_letter_arn=str(redrive["deadLetterTargetArn"]) if redrive else None,
            )
        )
    # A queue's dead-letter queue must exist before it: order them so.
    ordered: list[QueueSpec] = []
    pending = list(topology.queues)
    arn_of = {q.name: resolver.arn("sqs", q.name) for q in pending}
    while pending:
        ready = [
            q for q in pending if q.dead_letter_arn is None or q.dead_letter_arn in {arn_of[o.name] for o in ordered}
        ]
        if not ready:  # a cycle or a DLQ outside the templates: create the rest as they are
            ready = pending
        ordered.extend(ready)
        pending = [q for q in pending if q not in ready]
    topology.queues = ordered


def _topics(topology: Topology) -> None:
    resolver = topology.resolver
    subscriptions: dict[str, list[dict[str, Any]]] = {}
    for stack, logical_id, resource in _active(topology, "AWS::SNS::Subscription"):
        props = _properties(topology, stack, logical_id, resource)
        subscriptions.setdefault(str(props["TopicArn"]), []).append(props)
    for stack, logical_id, resource in _active(topology, "AWS::SNS::Topic"):
        props = _properties(topology, stack, logical_id, resource)
        physical = resolver.physical(stack, logical_id)
        subs = [
            {"Protocol": s["Protocol"], "Endpoint": s["Endpoint"]} for s in props.get("Subscription", [])
        ] + subscriptions.get(physical.ref, [])
        topology.topics.append(
            TopicSpec(
                stack=stack, logical_id=logical_id, name=physical.attributes["TopicName"], subscriptions=tuple(subs)
            )
        )


def _secrets(topology: Topology) -> None:
    resolver = topology.resolver
    for stack, logical_id, resource in _active(topology, "AWS::SecretsManager::Secret"):
        props = _properties(topology, stack, logical_id, resource)
        topology.secrets.append(
            SecretSpec(
                stack=stack,
                logical_id=logical_id,
                name=resolver.physical(stack, logical_id).attributes["Name"],
                description=str(props.get("Description", "")),
                secret_string=props.get("SecretString"),
                generate=props.get("GenerateSecretString"),
            )
        )


def _state_machines(topology: Topology) -> None:
    resolver = topology.resolver
    for stack, logical_id, resource in _active(topology, "AWS::StepFunctions::StateMachine"):
        props = resource.get("Properties", {})
        where = f"{stack}/{logical_id}"
        if "DefinitionString" in props:
            definition = topology.resolve_str(props["DefinitionString"], stack, where)
        elif "Definition" in props:
            definition = json.dumps(resolver.resolve(props["Definition"], stack))
        else:
            topology.warnings.append(f"{where}: state machine definition in S3 is not read locally")
            continue
        for key, value in (props.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", topology.resolve_str(value, stack, where))
        topology.state_machines.append(
            StateMachineSpec(
                stack=stack,
                logical_id=logical_id,
                name=resolver.physical(stack, logical_id).attributes["Name"],
                definition=definition,
                kind=str(props.get("StateMachineType", "STANDARD")),
                role_arn=topology.resolve_str(props.get("RoleArn", ""), stack, where)
                or f"arn:aws:iam::{resolver.account}:role/{logical_id}",
            )
        )


def load_resources(assembly: CloudAssembly, resolver: Resolver) -> Topology:
    """The stateful resources (tables, buckets, queues, topics, secrets, identities) to provision first.

    Functions, routes and mappings come after provisioning (:func:`load_compute`), because some of
    their values (a secret's ARN, a stream's ARN, a queue's URL) exist only once the service made them.
    """
    topology = Topology(assembly=assembly, resolver=resolver)
    topology.tables = [
        TableSpec(stack=t.stack, logical_id=t.logical_id, properties=t.properties)
        for t in assembly.tables()
        if resolver.is_active(t.stack, resolver.resource(t.stack, t.logical_id))
    ]
    _buckets(topology)
    _queues(topology)
    _topics(topology)
    _secrets(topology)
    topology.email_identities = [
        resolver.physical(stack, logical_id).ref
        for stack, logical_id, _ in _active(topology, "AWS::SES::EmailIdentity")
    ]
    return topology


def load_compute(topology: Topology, inline_dir: Path) -> Topology:
    """Functions, APIs, event source mappings and state machines, once the resources exist."""
    _functions(topology, inline_dir)
    _apis(topology)
    _mappings(topology)
    _state_machines(topology)
    return topology
