"""CloudFormation resource types moto has no model for, added to the embedded server's CloudFormation.

moto skips a type it does not model with a warning (which ``-W error`` turns into HTTP 500) and
lists the resource with no logical id, so ``Ref``/``GetAtt`` to it fail later with an unreadable
error. :func:`install_cfn_models` adds, in the process that runs the server:

- real models over moto's own backends: ``AWS::SNS::Subscription`` (SAM's ``SNS`` event source),
  ``AWS::ApiGateway::Stage``, ``AWS::ApiGatewayV2::Api`` (a ``Body`` is imported) and ``::Stage``,
  and ``AWS::EventSchemas::Registry`` / ``::Schema`` / ``::Discoverer``: a schema's ``Content`` is
  stored in the server's S3 (bucket :data:`SCHEMA_BUCKET`, key ``<registry>/<schema>.json``), where
  ``mock_event(registry=, schema=)`` reads it on the embedded backend;
- stand-ins that create nothing, for types a test does not observe (:data:`STAND_IN_TYPES`:
  alarms, API keys and usage plans, invoke configs...) and for the resource policies moto enforces
  anyway (``MOTO_SKIPPED_TYPES``, which ``deploy_stack`` leaves out): the stack completes, each is
  logged at INFO;
- for every other type moto cannot create, and for any resource whose create fails inside moto, a
  ``ValidationError`` that names the resource and its type (:func:`name_failing_resources`), in place
  of a skipped resource or an HTTP 500 with a traceback for a body.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from .templates import MOTO_SKIPPED_TYPES

log = logging.getLogger("iatk.embedded")

#: The bucket on the embedded server's S3 that holds the schemas of ``AWS::EventSchemas::Schema``:
#: made (tagged :data:`SCHEMA_BUCKET_TAG`) with the first schema, deleted with the last one's stack.
SCHEMA_BUCKET = "iatk-schemas"
SCHEMA_BUCKET_TAG = ("iatk:embedded", "schemas")

#: Types a test does not observe: the embedded server creates nothing for them (logged at INFO).
STAND_IN_TYPES = frozenset(
    {
        "AWS::ApiGateway::Account",
        "AWS::ApiGateway::ApiKey",
        "AWS::ApiGateway::Authorizer",
        "AWS::ApiGateway::UsagePlan",
        "AWS::ApiGateway::UsagePlanKey",
        "AWS::ApiGatewayV2::ApiMapping",
        "AWS::ApiGatewayV2::Authorizer",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Route",
        "AWS::CloudWatch::Alarm",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::Lambda::LayerVersionPermission",
    }
)


def _put_schema(account_id: str, region_name: str, registry: str, name: str, body: dict[str, Any] | None) -> None:
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    backend = s3_backends[account_id][get_partition(region_name)]
    key = f"{registry}/{name}.json"
    if body is None:
        if SCHEMA_BUCKET in backend.buckets:
            backend.delete_object(SCHEMA_BUCKET, key)
            if not backend.buckets[SCHEMA_BUCKET].keys:  # the last schema's stack is gone: so is the bucket
                backend.delete_bucket(SCHEMA_BUCKET)
        return
    if SCHEMA_BUCKET not in backend.buckets:
        backend.create_bucket(SCHEMA_BUCKET, region_name)
        tag, value = SCHEMA_BUCKET_TAG
        backend.put_bucket_tagging(SCHEMA_BUCKET, {tag: value})
    backend.put_object(SCHEMA_BUCKET, key, json.dumps(body).encode())


def install_cfn_models() -> None:
    """Add the models above to moto's CloudFormation, and name failing resources (idempotent)."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    if getattr(parsing, "_iatk_models", False):
        return

    class _Described:
        """What every model here declares the same way: its type and name property as class data, and
        its physical id (``physical_id``), as moto's CloudFormation asks for them."""

        TYPE = ""
        NAME_PROPERTY = ""

        physical_id: str  # set by each model's __init__

        @property
        def physical_resource_id(self) -> str:
            return self.physical_id

        @classmethod
        def cloudformation_type(cls) -> str:
            return cls.TYPE

        @classmethod
        def cloudformation_name_type(cls) -> str:
            return cls.NAME_PROPERTY

    class SnsSubscription(_Described, CloudFormationModel):
        TYPE = "AWS::SNS::Subscription"
        NAME_PROPERTY = ""

        def __init__(self, arn: str) -> None:
            self.arn = arn
            self.physical_id = self.arn

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> SnsSubscription:
            from moto.sns.models import sns_backends

            props = cloudformation_json["Properties"]
            backend = sns_backends[account_id][region_name]
            subscription = backend.subscribe(props["TopicArn"], props["Endpoint"], props["Protocol"])
            for key in ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy"):
                if key in props:
                    value = props[key]
                    value = (
                        json.dumps(value)
                        if isinstance(value, dict)
                        else str(value).lower()
                        if isinstance(value, bool)
                        else str(value)
                    )
                    backend.set_subscription_attributes(subscription.arn, key, value)
            return cls(subscription.arn)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            from moto.sns.models import sns_backends

            sns_backends[account_id][region_name].unsubscribe(resource_name)

    class RestApiStage(_Described, CloudFormationModel):
        TYPE = "AWS::ApiGateway::Stage"
        NAME_PROPERTY = ""

        def __init__(self, name: str) -> None:
            self.name = name
            self.physical_id = self.name

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> RestApiStage:
            from moto.apigateway.models import apigateway_backends

            props = cloudformation_json["Properties"]
            name = props.get("StageName") or resource_name
            apigateway_backends[account_id][region_name].create_stage(
                props["RestApiId"],
                name,
                props.get("DeploymentId", ""),
                variables=props.get("Variables"),
                description=props.get("Description", ""),
                tracing_enabled=props.get("TracingEnabled"),
            )
            return cls(name)

    class HttpApi(_Described, CloudFormationModel):
        TYPE = "AWS::ApiGatewayV2::Api"
        NAME_PROPERTY = "Name"

        def __init__(self, api: Any, region: str) -> None:
            self.api = api
            self.region = region
            self.physical_id = str(self.api.api_id)

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("ApiEndpoint", "ApiId")

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            if attribute_name == "ApiId":
                return self.api.api_id
            return f"https://{self.api.api_id}.execute-api.{self.region}.amazonaws.com"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> HttpApi:
            from moto.apigatewayv2.models import apigatewayv2_backends

            props = cloudformation_json["Properties"]
            backend = apigatewayv2_backends[account_id][region_name]
            body = props.get("Body")
            name = props.get("Name") or (body or {}).get("info", {}).get("title") or resource_name
            api = backend.create_api(
                api_key_selection_expression=props.get("ApiKeySelectionExpression", ""),
                cors_configuration=props.get("CorsConfiguration", ""),
                description=props.get("Description", ""),
                disable_schema_validation=props.get("DisableSchemaValidation", ""),
                disable_execute_api_endpoint=props.get("DisableExecuteApiEndpoint", ""),
                name=name,
                protocol_type=props.get("ProtocolType", "HTTP"),
                route_selection_expression=props.get("RouteSelectionExpression", ""),
                tags=props.get("Tags") or {},
                version=props.get("Version", ""),
            )
            if isinstance(body, dict) and body.get("paths"):
                try:
                    api.import_api(json.dumps(body), fail_on_warnings=False)
                except Exception as err:  # the routes are a bonus: the API exists either way
                    log.info("embedded backend: HTTP API %s: could not import its Body: %s", resource_name, err)
            return cls(api, region_name)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            from moto.apigatewayv2.models import apigatewayv2_backends

            apigatewayv2_backends[account_id][region_name].delete_api(resource_name)

    class HttpApiStage(_Described, CloudFormationModel):
        TYPE = "AWS::ApiGatewayV2::Stage"
        NAME_PROPERTY = ""

        def __init__(self, name: str) -> None:
            self.name = name
            self.physical_id = self.name

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> HttpApiStage:
            from moto.apigatewayv2.models import apigatewayv2_backends

            props = cloudformation_json["Properties"]
            name = props.get("StageName") or resource_name
            config: dict[str, Any] = {
                "stageName": name,
                "autoDeploy": bool(props.get("AutoDeploy")),
                "stageVariables": {},
            }
            apigatewayv2_backends[account_id][region_name].create_stage(props["ApiId"], config)
            return cls(name)

    class SchemaRegistry(_Described, CloudFormationModel):
        TYPE = "AWS::EventSchemas::Registry"
        NAME_PROPERTY = "RegistryName"

        def __init__(self, name: str, account_id: str, region: str) -> None:
            self.name = name
            self.arn = f"arn:aws:schemas:{region}:{account_id}:registry/{name}"
            self.physical_id = self.arn

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("RegistryArn", "RegistryName")

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            return self.arn if attribute_name == "RegistryArn" else self.name

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> SchemaRegistry:
            name = (cloudformation_json.get("Properties") or {}).get("RegistryName") or resource_name
            return cls(name, account_id, region_name)

    class Schema(_Described, CloudFormationModel):
        TYPE = "AWS::EventSchemas::Schema"
        NAME_PROPERTY = "SchemaName"

        def __init__(self, registry: str, name: str, account_id: str, region: str) -> None:
            self.registry = registry
            self.name = name
            self.arn = f"arn:aws:schemas:{region}:{account_id}:schema/{registry}/{name}"
            self.physical_id = self.arn

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("SchemaArn", "SchemaName", "SchemaVersion")

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            return {"SchemaArn": self.arn, "SchemaName": self.name, "SchemaVersion": "1"}[attribute_name]

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> Schema:
            props = cloudformation_json.get("Properties") or {}
            registry = str(props.get("RegistryName", ""))
            if registry.startswith("arn:"):
                registry = registry.rsplit("/", 1)[-1]
            name = props.get("SchemaName") or resource_name
            content = props.get("Content")
            document = json.loads(content) if isinstance(content, str) else content
            _put_schema(
                account_id, region_name, registry, name, {"Type": props.get("Type", "OpenApi3"), "Content": document}
            )
            log.info("embedded backend: schema %s/%s stored for mock_event(registry=, schema=)", registry, name)
            return cls(registry, name, account_id, region_name)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            parts = resource_name.rsplit("/", 2)
            if len(parts) == 3:
                _put_schema(account_id, region_name, parts[1], parts[2], None)

    class StandIn(_Described, CloudFormationModel):
        TYPE = "iatk::StandIn"
        NAME_PROPERTY = ""

        def __init__(self, name: str, resource_type: str) -> None:
            self.name = name
            self.resource_type = resource_type
            self.physical_id = self.name

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return True

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            return self.name

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> StandIn:
            resource_type = str(kw.get("ResourceType", "?"))
            log.info(
                "embedded backend: created nothing for %s (%s): moto has no model for it, and a test does not see it",
                kw.get("LogicalId", resource_name),
                resource_type,
            )
            return cls(f"{resource_name}-{uuid.uuid4().hex[:8]}", resource_type)

    for model in (SnsSubscription, RestApiStage, HttpApi, HttpApiStage, SchemaRegistry, Schema):
        _ = model  # defining the subclass registers it (moto lists CloudFormationModel.__subclasses__())
    discoverer_type = "AWS::EventSchemas::Discoverer"
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    models = parsing.get_model_map()
    # The resource policies deploy_stack leaves out (moto enforces none) are stood in for too, so a
    # plain CreateStack of a template with them completes, each listed with its logical id.
    for resource_type in (*STAND_IN_TYPES, *MOTO_SKIPPED_TYPES, discoverer_type):
        models.setdefault(resource_type, StandIn)  # type: ignore[type-abstract]
    name_failing_resources(parsing)
    parsing._iatk_models = True  # type: ignore[attr-defined]


def name_failing_resources(parsing: Any) -> None:
    """A resource moto cannot create fails the create with a ``ValidationError`` that names it.

    moto skips an unmodelled type (a warning, then a resource without a logical id) and lets any
    exception inside a model's create become HTTP 500 with a Python traceback for a body, which
    botocore reports as "Unable to parse response ... invalid XML". Both become a
    ``ValidationError``: "resource X (type T): ...".
    """
    from moto.cloudformation.exceptions import ValidationError

    original = parsing.parse_and_create_resource

    def parse_and_create_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        resource_type = str(resource_json.get("Type", "?"))
        known = resource_type in parsing.NULL_MODELS or resource_type.startswith("Custom::")
        if not known and resource_type not in parsing.get_model_map():
            raise ValidationError(
                message=(
                    f"resource {logical_id} ({resource_type}): the embedded backend (moto) cannot create this "
                    "type; leave it out of the template you test offline, or run this test on AWS"
                )
            )
        try:
            return original(logical_id, resource_json, resources_map, account_id, region_name)
        except ValidationError:
            raise
        except KeyError as err:
            raise ValidationError(
                message=f"resource {logical_id} ({resource_type}): it refers to {err}, which moto cannot resolve"
            ) from err
        except Exception as err:
            failure = f"{type(err).__name__}: {err}"
            raise ValidationError(
                message=f"resource {logical_id} ({resource_type}): moto failed to create it: {failure}"
            ) from err

    parsing.parse_and_create_resource = parse_and_create_resource
