"""Fix-ups of moto's CloudFormation models, applied in the process that runs the embedded server.

Each one makes a resource behave on moto as CloudFormation documents it, for any stack on the
server (``deploy_stack``'s or a plain ``CreateStack``'s), and logs at INFO (logger
``iatk.embedded``) when it changes what moto would have done:

- ``Ref`` of an ``AWS::Lambda::LayerVersion`` gives its version ARN (moto gave nothing);
- ``AWS::Lambda::Function`` keeps its ``Layers``, ``TracingConfig``, ``Architectures``,
  ``EphemeralStorage``, ``ImageConfig``, ``PackageType`` and ``Tags`` (moto
  passed only a few properties to CreateFunction, so a SAM function's layers never reached ``/opt``);
- ``Ref`` of an ``AWS::Events::EventBus`` gives the bus name (moto gave a Python repr, in Outputs,
  ``Fn::Sub`` and a rule's ``EventBusName``, where it failed the create with HTTP 500);
- ``AWS::StepFunctions::StateMachine``: ``Definition`` (an object), ``DefinitionS3Location`` and
  ``DefinitionSubstitutions`` are applied (moto read ``DefinitionString`` only and left every
  ``${var}`` in it), and ``Fn::GetAtt <machine>.Arn`` / ``.Name`` resolve;
- ``AWS::ApiGateway::RestApi`` without ``Name`` takes its ``Body``'s ``info.title``, else its
  logical id (moto failed with ``KeyError: 'Name'``), and a ``Body`` (OpenAPI or Swagger) becomes
  the API's resources and methods (moto ignored it, so its Deployment failed: "no methods");
- ``AWS::S3::Bucket`` with ``NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled``
  sends its object events to the default bus (moto ignored the setting);
- ``DescribeStackResource`` for a logical id the stack does not have is a ``ValidationError``
  (moto answered HTTP 500 when the stack held a resource of a type it does not model).

Where the fix belongs upstream (in moto), the README's "Embedded backend" section says so.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

log = logging.getLogger("iatk.embedded")

_SUBSTITUTION = re.compile(r"\$\{([^}!][^}]*)\}")


def substitute_definition(definition: str, substitutions: dict[str, Any]) -> str:
    """``definition`` with each ``${key}`` of ``substitutions`` replaced, as Step Functions does.

    Values are inserted as text (a number or a boolean as its JSON form); a ``${name}`` with no
    substitution is left as it is, which is what CloudFormation does with names it does not know.
    """

    def value(found: re.Match[str]) -> str:
        key = found.group(1)
        if key not in substitutions:
            return found.group(0)
        item = substitutions[key]
        return item if isinstance(item, str) else json.dumps(item)

    return _SUBSTITUTION.sub(value, definition)


def _read_s3_definition(location: dict[str, Any], account_id: str, region_name: str) -> str:
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    backend = s3_backends[account_id][get_partition(region_name)]
    key = backend.get_object(location["Bucket"], location["Key"], location.get("Version"))
    if key is None:
        raise ValueError(f"DefinitionS3Location s3://{location['Bucket']}/{location['Key']} does not exist")
    return bytes(key.value).decode()


def state_machine_definition(properties: dict[str, Any], account_id: str, region_name: str) -> str:
    """The definition text of a state machine's (resolved) properties, substitutions applied."""
    if "Definition" in properties and properties["Definition"] is not None:
        definition = properties["Definition"]
        text = definition if isinstance(definition, str) else json.dumps(definition)
    elif properties.get("DefinitionS3Location"):
        text = _read_s3_definition(properties["DefinitionS3Location"], account_id, region_name)
    else:
        text = str(properties.get("DefinitionString") or "")
    substitutions = properties.get("DefinitionSubstitutions") or {}
    return substitute_definition(text, substitutions) if substitutions else text


def fix_event_bus_ref() -> None:
    """``Ref`` of an ``AWS::Events::EventBus`` gives its name, as on AWS (idempotent)."""
    from moto.events.models import EventBus

    if getattr(EventBus, "_iatk_ref_fixed", False):
        return
    EventBus.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]
    EventBus._iatk_ref_fixed = True  # type: ignore[attr-defined]


def fix_state_machine_properties() -> None:
    """State machines from CloudFormation: every definition property, substitutions, ``GetAtt .Arn``.

    Must run before :func:`~.stepfunctions.mirror_cfn_state_machines`, which wraps these methods.
    """
    from moto.stepfunctions.models import StateMachine, stepfunctions_backends
    from moto.stepfunctions.utils import cfn_to_api_tags

    if getattr(StateMachine, "_iatk_properties_fixed", False):
        return
    original_update = StateMachine.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    original_attr = StateMachine.get_cfn_attribute
    original_has = StateMachine.has_cfn_attr.__func__  # type: ignore[attr-defined]

    def as_definition_string(cloudformation_json: Any, account_id: str, region_name: str, name: str) -> None:
        properties = cloudformation_json.setdefault("Properties", {})
        given = {key for key in ("Definition", "DefinitionS3Location", "DefinitionSubstitutions") if key in properties}
        properties["DefinitionString"] = state_machine_definition(properties, account_id, region_name)
        if given:
            log.info("embedded backend: state machine %s: applied %s", name, ", ".join(sorted(given)))

    def created(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
    ) -> Any:
        as_definition_string(cloudformation_json, account_id, region_name, resource_name)
        properties = cloudformation_json["Properties"]
        backend = stepfunctions_backends[account_id][region_name]
        return backend.create_state_machine(
            properties.get("StateMachineName", resource_name),
            properties["DefinitionString"],
            properties.get("RoleArn", ""),
            tags=cfn_to_api_tags(properties.get("Tags", [])),
        )

    def updated(
        cls: Any, original: Any, new_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        as_definition_string(cloudformation_json, account_id, region_name, new_name)
        return original_update(cls, original, new_name, cloudformation_json, account_id, region_name)

    def has_attr(cls: Any, attr: str) -> bool:
        return attr in ("Arn", "Name") or bool(original_has(cls, attr))

    def attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.arn
        return original_attr(self, attribute_name)

    StateMachine.create_from_cloudformation_json = classmethod(created)  # type: ignore[method-assign,assignment,arg-type]
    StateMachine.update_from_cloudformation_json = classmethod(updated)  # type: ignore[method-assign,assignment]
    StateMachine.has_cfn_attr = classmethod(has_attr)  # type: ignore[method-assign,assignment]
    StateMachine.get_cfn_attribute = attribute  # type: ignore[method-assign]
    StateMachine._iatk_properties_fixed = True  # type: ignore[attr-defined]


_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "x-amazon-apigateway-any-method"}


def import_paths(backend: Any, api: Any, paths: dict[str, Any]) -> int:
    """Make a REST API's resources, methods and integrations from an OpenAPI/Swagger ``paths`` object.

    moto imports OpenAPI 3 only, and only through its own API; SAM writes Swagger 2.0. What is read:
    each path's parts (as resources), each HTTP method (``x-amazon-apigateway-any-method`` is
    ``ANY``), and its ``x-amazon-apigateway-integration`` (type, uri, httpMethod). Returns the
    number of methods made.
    """
    by_path = {resource.get_path(): resource for resource in api.resources.values()}
    count = 0
    for path, operations in paths.items():
        if not isinstance(operations, dict):
            continue
        parent = by_path["/"]
        current = ""
        for part in [p for p in str(path).split("/") if p]:
            current = f"{current}/{part}"
            if current not in by_path:
                by_path[current] = backend.create_resource(api.id, parent.id, part)
            parent = by_path[current]
        for verb, operation in operations.items():
            if verb.lower() not in _HTTP_METHODS or not isinstance(operation, dict):
                continue
            method = "ANY" if verb.lower() == "x-amazon-apigateway-any-method" else verb.upper()
            security = operation.get("security")
            backend.put_method(api.id, parent.id, method, "CUSTOM" if security else "NONE")
            integration = operation.get("x-amazon-apigateway-integration")
            if isinstance(integration, dict) and integration.get("type"):
                backend.put_integration(
                    api.id,
                    parent.id,
                    method,
                    str(integration["type"]).upper(),
                    str(integration.get("uri", "")),
                    str(integration.get("httpMethod", method)),
                )
            count += 1
    return count


def fix_rest_api() -> None:
    """``AWS::ApiGateway::RestApi``: a default ``Name``, and its ``Body`` imported as routes."""
    from moto.apigateway.models import Deployment, Resource, RestAPI, apigateway_backends

    if getattr(RestAPI, "_iatk_body_fixed", False):
        return
    # Ref of a Deployment or a Resource is its id (moto gave the Python object, so a Stage's
    # DeploymentId broke GetStages).
    for model in (Deployment, Resource):
        if not hasattr(model, "physical_resource_id"):
            model.physical_resource_id = property(lambda self: self.id)  # type: ignore[attr-defined]
    original = RestAPI.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def created(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
    ) -> Any:
        properties = cloudformation_json.setdefault("Properties", {})
        body = properties.get("Body")
        if isinstance(body, str):
            body = json.loads(body)
        if not properties.get("Name"):
            title = (body or {}).get("info", {}).get("title") if isinstance(body, dict) else None
            properties["Name"] = title or resource_name
            log.info("embedded backend: REST API %s has no Name: named it %r", resource_name, properties["Name"])
        api = original(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
        if isinstance(body, dict) and isinstance(body.get("paths"), dict):
            count = import_paths(apigateway_backends[account_id][region_name], api, body["paths"])
            log.info("embedded backend: REST API %s: %d method(s) from its Body", resource_name, count)
        return api

    RestAPI.create_from_cloudformation_json = classmethod(created)  # type: ignore[method-assign,assignment,arg-type]
    RestAPI._iatk_body_fixed = True  # type: ignore[attr-defined]


def fix_bucket_eventbridge() -> None:
    """``AWS::S3::Bucket``'s ``EventBridgeConfiguration`` turns on its EventBridge notifications."""
    from moto.s3.models import FakeBucket, s3_backends
    from moto.utilities.utils import get_partition

    if getattr(FakeBucket, "_iatk_eventbridge_fixed", False):
        return
    original = FakeBucket.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def created(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
    ) -> Any:
        bucket = original(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
        notification = (cloudformation_json.get("Properties") or {}).get("NotificationConfiguration") or {}
        bridge = notification.get("EventBridgeConfiguration") or {}
        if str(bridge.get("EventBridgeEnabled", "")).lower() == "true":
            backend = s3_backends[account_id][get_partition(region_name)]
            backend.put_bucket_notification_configuration(bucket.name, {"EventBridgeConfiguration": {}})
            log.info("embedded backend: bucket %s sends its events to EventBridge", bucket.name)
        return bucket

    FakeBucket.create_from_cloudformation_json = classmethod(created)  # type: ignore[method-assign,assignment,arg-type]
    FakeBucket._iatk_eventbridge_fixed = True  # type: ignore[attr-defined]


def fix_describe_stack_resource() -> None:
    """``DescribeStackResource`` for an unknown logical id: ``ValidationError``, not HTTP 500."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend

    if getattr(CloudFormationBackend, "_iatk_describe_fixed", False):
        return

    def describe_stack_resource(self: Any, stack_name: str, logical_resource_id: str) -> Any:
        stack = self.get_stack(stack_name)
        for resource in stack.stack_resources:
            # A resource of a type moto does not model is None here: moto's own loop failed on it.
            if resource is not None and getattr(resource, "logical_resource_id", None) == logical_resource_id:
                return stack, resource
        raise ValidationError(stack_name, f"Resource {logical_resource_id} does not exist for stack {stack_name}")

    CloudFormationBackend.describe_stack_resource = describe_stack_resource  # type: ignore[method-assign]
    CloudFormationBackend._iatk_describe_fixed = True  # type: ignore[attr-defined]


def fix_layer_version_ref() -> None:
    """``Ref`` of an ``AWS::Lambda::LayerVersion`` is its version ARN (moto gave none)."""
    from moto.awslambda.models import LayerVersion

    if not hasattr(LayerVersion, "physical_resource_id"):
        LayerVersion.physical_resource_id = property(lambda self: self.arn)  # type: ignore[attr-defined]


#: ``AWS::Lambda::Function`` properties that CreateFunction takes under the same name, which moto's
#: CloudFormation model drops.
LAMBDA_PROPERTIES = (
    "Layers",
    "TracingConfig",
    "Architectures",
    "EphemeralStorage",
    "ImageConfig",
    "PackageType",
)


def fix_lambda_function_properties() -> None:
    """Functions from CloudFormation get every property CreateFunction takes (idempotent)."""
    from moto.awslambda.models import LambdaFunction

    if getattr(LambdaFunction, "_iatk_properties_fixed", False):
        return
    original = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def created(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
    ) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        fn = original(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
        given = [key for key in LAMBDA_PROPERTIES if properties.get(key)]
        tags = {t["Key"]: t["Value"] for t in properties.get("Tags") or [] if isinstance(t, dict) and "Key" in t}
        if not given and not tags:
            return fn
        if "Layers" in given:
            fn.layers = fn._get_layers_data(list(properties["Layers"]))
        if "TracingConfig" in given:
            fn.tracing_config = dict(properties["TracingConfig"])
        if "Architectures" in given:
            fn.architectures = list(properties["Architectures"])
        if "EphemeralStorage" in given:
            fn.ephemeral_storage = properties["EphemeralStorage"].get("Size", fn.ephemeral_storage)
        if "PackageType" in given:
            fn.package_type = properties["PackageType"]
        if "ImageConfig" in given:
            from moto.awslambda.models import ImageConfig

            fn.image_config = ImageConfig(dict(properties["ImageConfig"]))
        if tags:
            fn.tags.update(tags)
        log.info(
            "embedded backend: function %s: applied %s",
            fn.function_name,
            ", ".join(given + (["Tags"] if tags else [])),
        )
        return fn

    LambdaFunction.create_from_cloudformation_json = classmethod(created)  # type: ignore[method-assign,assignment,arg-type]
    LambdaFunction._iatk_properties_fixed = True  # type: ignore[attr-defined]


def fix_cloudformation_models() -> None:
    """Apply every fix-up of this module (each idempotent)."""
    fix_event_bus_ref()
    fix_layer_version_ref()
    fix_lambda_function_properties()
    fix_state_machine_properties()
    fix_rest_api()
    fix_bucket_eventbridge()
    fix_describe_stack_resource()
