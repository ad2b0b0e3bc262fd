"""The services that invoke a function on their own: SNS, EventBridge, CloudFormation custom resources.

Each is changed in the server's process by :func:`install_triggers` (idempotent):

- **SNS** subscriptions with protocol ``lambda``: moto calls the function inline in ``Publish`` with a
  made-up event (``TopicArn: arn:aws:sns:EXAMPLE``); here the subscription's filter policy and
  message structure apply as before, and the function is invoked **asynchronously** (as SNS does)
  with the event AWS sends: the subscription and topic ARNs, the message id, subject, attributes,
  and the publish's trace header (an active topic's delivery subsegment as ``Parent``);
- **EventBridge** rule → Lambda target: :func:`register_lambda_target` registers a deliverer in the
  embedded EventBridge's target registry (``iatk._backend.moto.eventbridge``, when that module is
  present) which queues an asynchronous invocation with the target's input (``Input`` /
  ``InputPath`` / ``InputTransformer`` already applied there) and the event's trace header (the
  function's segments go under the bus's ``Events`` node, as on AWS). It only queues, so nothing runs
  under the EventBridge lock and a handler that calls ``PutEvents`` cannot deadlock;
- **CloudFormation custom resources** backed by a function: moto sends ``ResponseURL`` to
  ``host.docker.internal`` (for a function in Docker); here it is the embedded server, the
  invocation runs in a thread as moto's does, ``SUCCESS`` sets the resource's ``Data`` and
  ``PhysicalResourceId`` and completes the stack, ``FAILED`` (or a function that fails before
  answering) fails it with the reason instead of leaving it ``CREATE_IN_PROGRESS`` for ever.
  Only ``Create`` requests are sent (moto models no update or delete of a custom resource).
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

from .lambda_service import current_service
from .sns_segments import delivering

log = logging.getLogger("iatk.embedded")

__all__ = ["deliver_lambda_target", "install_triggers", "register_lambda_target", "sns_event"]

#: What a custom resource's ResponseURL points at: the embedded server (moto's port is MOTO_PORT).
LOOPBACK = "http://127.0.0.1"


def _function(arn: str) -> Any:
    """The moto function an ARN names (``...:function:name`` or ``...:function:name:qualifier``)."""
    from moto.awslambda.utils import get_backend

    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
        raise ValueError(f"{arn!r} is not a Lambda function ARN")
    qualifier = parts[7] if len(parts) > 7 else None
    return get_backend(parts[4], parts[3]).get_function(parts[6], qualifier)


# -- SNS ---------------------------------------------------------------------------------------


def sns_event(
    subscription: Any, message: str, message_id: str, subject: str | None, attributes: dict[str, Any] | None
) -> dict[str, Any]:
    """The event SNS sends a subscribed function."""
    topic = subscription.topic
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    region = str(topic.arn).split(":")[3]
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic.arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": stamp,
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-iatk.pem",
                    "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription.arn}",
                    "MessageAttributes": {
                        name: {"Type": value.get("Type"), "Value": value.get("Value")}
                        for name, value in (attributes or {}).items()
                    },
                },
            }
        ]
    }


def _install_sns() -> None:
    from moto.sns.models import Subscription

    if getattr(Subscription, "_iatk_lambda", False):
        return
    original = Subscription.publish

    def publish(
        self: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        if self.protocol != "lambda":
            return original(
                self, message, message_id, subject, message_attributes, group_id, deduplication_id, message_structure
            )
        if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
            message_attributes, message
        ):
            return None
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
        try:
            fn = _function(self.endpoint)
        except Exception as err:  # SNS records a failed delivery; the publisher never sees it
            log.warning("SNS subscription %s: cannot deliver to %s: %s", self.arn, self.endpoint, err)
            return None
        event = sns_event(self, message, message_id, subject, message_attributes)
        with delivering(self) as header:  # the function continues the publisher's (or topic's) trace
            current_service().invoke_async(
                fn,
                json.dumps(event),
                trace_header=str(header) if header is not None else None,
                source=f"SNS topic {self.topic.name}",
            )
        return None

    Subscription.publish = publish  # type: ignore[method-assign]
    Subscription._iatk_lambda = True  # type: ignore[attr-defined]


# -- EventBridge -------------------------------------------------------------------------------


def deliver_lambda_target(delivery: Any) -> None:
    """The EventBridge deliverer of a Lambda target: queue an asynchronous invocation with its input
    (and the event's trace header, which the function continues, as on AWS)."""
    try:
        fn = _function(delivery.arn.arn)
    except Exception as err:
        eventbridge = importlib.import_module("iatk._backend.moto.eventbridge")
        raise eventbridge.Undeliverable(f"no such function: {err}") from None
    # The function joins the event's trace (its AWS::Lambda segment under the bus's Events node).
    current_service().invoke_async(
        fn, delivery.input, trace_header=delivery.trace_header, source=f"rule {delivery.rule_name}"
    )


def register_lambda_target() -> bool:
    """Register :func:`deliver_lambda_target` for ``lambda`` targets when the embedded EventBridge's
    target registry exists (``iatk._backend.moto.eventbridge``); False when it does not.

    It is registered as a synchronous deliverer because it only queues the invocation: the event is
    then counted by ``settle`` the moment ``PutEvents`` returns, and the function runs on the Lambda
    service's workers, never under the EventBridge lock.
    """
    try:
        eventbridge = importlib.import_module("iatk._backend.moto.eventbridge")
    except ImportError:
        return False
    register = getattr(eventbridge, "register_target_deliverer", None)
    if register is None:
        return False
    register("lambda", deliver_lambda_target, asynchronous=False)
    return True


# -- CloudFormation custom resources -----------------------------------------------------------


class _Settings:
    """moto's settings as its custom resources see them: the ResponseURL host is the embedded server."""

    def __init__(self, settings: Any) -> None:
        self._settings = settings

    def __getattr__(self, name: str) -> Any:
        return getattr(self._settings, name)

    def moto_server_host(self) -> str:
        return LOOPBACK


#: Held while a stack creates its resources and while a custom resource's answer is applied, so an
#: answer that comes back during the creation never walks the resources the creation is making.
_stack_lock = threading.RLock()


def _fail_stack(stack: Any, logical_id: str, reason: str) -> None:
    with _stack_lock:
        if str(stack.status).endswith("_COMPLETE") or str(stack.status).endswith("_FAILED"):
            return
        stack.status = "CREATE_FAILED"
        stack._add_stack_event("CREATE_FAILED", resource_status_reason=f"{logical_id}: {reason}")
    log.warning("stack %s: custom resource %s failed: %s", stack.name, logical_id, reason)


def _run_custom_resource(fn: Any, event: dict[str, Any], stack: Any, resource: Any) -> None:
    """Invoke the function for one custom resource and fail the stack if it never answers."""
    try:
        result = current_service().invoke(fn, json.dumps(event))
    except Exception as err:
        _fail_stack(stack, resource.logical_id, f"the function could not run: {err}")
        return
    if resource.is_created() or str(stack.status) != "CREATE_IN_PROGRESS":
        return
    if result.function_error:
        doc = result.json() if result.payload else {}
        what = (
            f"{doc.get('errorType')}: {doc.get('errorMessage')}"
            if isinstance(doc, dict)
            else result.payload.decode("utf-8", "replace")
        )
        _fail_stack(
            stack,
            resource.logical_id,
            f"the function failed before answering ({what}); see /aws/lambda/{fn.function_name}",
        )
    else:
        _fail_stack(stack, resource.logical_id, "the function returned without sending a response to the ResponseURL")


def _install_custom_resources() -> None:
    from moto import settings
    from moto.cloudformation import custom_model as moto_custom_model
    from moto.cloudformation.models import Stack
    from moto.cloudformation.responses import CloudFormationResponse

    custom_model: Any = moto_custom_model
    if getattr(custom_model.CustomModel, "_iatk_lambda", False):
        return
    custom_model.settings = _Settings(settings)

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        from moto.awslambda.utils import get_backend
        from moto.cloudformation.models import cloudformation_backends

        properties = cloudformation_json["Properties"]
        token = properties["ServiceToken"]
        fn = get_backend(account_id, region_name).get_function(token)
        resource = cls(region_name, str(uuid.uuid4()), kwargs["LogicalId"], resource_name)
        stack = cloudformation_backends[account_id][region_name].get_stack(kwargs["StackId"])
        stack.add_custom_resource(resource)
        port = settings.moto_server_port()
        event = {
            "RequestType": "Create",
            "ServiceToken": token,
            "ResponseURL": f"{LOOPBACK}:{port}/cloudformation_{region_name}/cfnresponse?stack={kwargs['StackId']}",
            "StackId": kwargs["StackId"],
            "RequestId": resource.request_id,
            "LogicalResourceId": kwargs["LogicalId"],
            "ResourceType": kwargs["ResourceType"],
            "ResourceProperties": properties,
        }
        threading.Thread(
            target=_run_custom_resource, args=(fn, event, stack, resource), name="iatk-custom-resource", daemon=True
        ).start()
        return resource

    original_answer = CloudFormationResponse.process_cfn_response
    original_create_resources = Stack.create_resources

    def process_cfn_response(self: Any) -> Any:
        status = self._get_param("Status")
        stack = self.cloudformation_backend.get_stack(self._get_param("StackId"))
        logical_id = self._get_param("LogicalResourceId")
        with _stack_lock:
            if status == "SUCCESS":
                physical = self._get_param("PhysicalResourceId")
                if physical and logical_id in stack.custom_resources:
                    stack.custom_resources[logical_id].resource_name = physical
                answer = original_answer(self)
                # Outputs read while the resource was pending keep its old Ref and GetAtt: read them again.
                parsed = getattr(stack.output_map, "_parsed_outputs", None)
                if isinstance(parsed, dict):
                    parsed.clear()
                return answer
        if status == "FAILED":
            _fail_stack(stack, logical_id, str(self._get_param("Reason") or "the custom resource answered FAILED"))
        return 200, {"status": 200}, json.dumps("{}")

    def create_resources(self: Any) -> None:
        with _stack_lock:
            original_create_resources(self)

    custom_model.CustomModel.create_from_cloudformation_json = classmethod(create)
    CloudFormationResponse.process_cfn_response = process_cfn_response  # type: ignore[method-assign]
    Stack.create_resources = create_resources  # type: ignore[method-assign]
    custom_model.CustomModel._iatk_lambda = True


def install_triggers() -> None:
    """SNS subscriptions, the EventBridge Lambda target and custom resources (idempotent)."""
    _install_sns()
    _install_custom_resources()
    register_lambda_target()
