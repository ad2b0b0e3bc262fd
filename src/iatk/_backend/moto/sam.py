"""SAM templates on the embedded backend: the transform expanded offline.

moto does not expand ``Transform: AWS::Serverless-2016-10-31`` (it skips it, or answers HTTP 500).
On the embedded backend ``deploy_stack`` expands it first with ``aws-sam-translator`` (AWS's own
translator, in the ``moto`` extra): no credentials, the embedded region, managed-policy ARNs from
:data:`MANAGED_POLICY_PATHS` rather than an IAM call. Before that, what ``sam package`` would
upload is packaged by :mod:`.packaging` (the same code packages a plain template's local
``AWS::Lambda::Function`` ``Code``): a local ``CodeUri`` or ``ContentUri`` is zipped for the
server's S3, a local ``DefinitionUri`` is read into ``Definition`` or ``DefinitionBody``.

On AWS the template goes as it is (CloudFormation expands it), and a local path is an error that
says how to package (:func:`.packaging.packaging_error`).

Only :func:`expand` imports the translator (about 0.9 s the first time); the rest is plain Python.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

from iatk.exceptions import ConfigError, DeployError

log = logging.getLogger("iatk.stack")

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

#: The translator's boto3 Session needs keys to exist; it reads only the region and makes no call.
DUMMY = "iatk-embedded"

#: AWS managed policies that live under a path (``arn:aws:iam::aws:policy/<path><name>``); any other
#: name a SAM ``Policies`` list gives is taken as ``arn:aws:iam::aws:policy/<name>``. moto enforces
#: no IAM policy, so the table only keeps the ARNs right.
MANAGED_POLICY_PATHS = {
    "AWSLambdaBasicExecutionRole": "service-role/",
    "AWSLambdaVPCAccessExecutionRole": "service-role/",
    "AWSLambdaSQSQueueExecutionRole": "service-role/",
    "AWSLambdaDynamoDBExecutionRole": "service-role/",
    "AWSLambdaKinesisExecutionRole": "service-role/",
    "AWSLambdaMSKExecutionRole": "service-role/",
    "AWSLambdaRole": "service-role/",
    "AWSXrayWriteOnlyAccess": "",
    "AWSStepFunctionsFullAccess": "",
    "CloudWatchLogsFullAccess": "",
    "AmazonEventBridgeFullAccess": "",
    "AmazonSQSFullAccess": "",
    "AmazonSNSFullAccess": "",
    "AmazonS3FullAccess": "",
    "AmazonS3ReadOnlyAccess": "",
    "AmazonDynamoDBFullAccess": "",
    "AmazonDynamoDBReadOnlyAccess": "",
    "AWSLambda_FullAccess": "",
    "AWSLambdaExecute": "",
}


def is_sam(body: dict[str, Any]) -> bool:
    """True when the template's ``Transform`` names the SAM transform."""
    transform = body.get("Transform")
    names = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in names


def _policy_names(body: dict[str, Any]) -> Iterator[str]:
    globals_policies = ((body.get("Globals") or {}).get("Function") or {}).get("Policies")
    for resource in [*(body.get("Resources") or {}).values(), {"Properties": {"Policies": globals_policies}}]:
        if not isinstance(resource, dict):
            continue
        policies = (resource.get("Properties") or {}).get("Policies")
        for policy in policies if isinstance(policies, list) else [policies]:
            if isinstance(policy, str) and not policy.startswith("arn:"):
                yield policy


def managed_policy_map(body: dict[str, Any], partition: str = "aws") -> dict[str, str]:
    """Managed-policy name → ARN for each policy name the template's ``Policies`` give (no IAM call)."""
    return {
        name: f"arn:{partition}:iam::aws:policy/{MANAGED_POLICY_PATHS.get(name, '')}{name}"
        for name in _policy_names(body)
    }


def expand(body: dict[str, Any], *, region: str, parameters: dict[str, str], source: str) -> dict[str, Any]:
    """The CloudFormation template a SAM template expands to, offline (aws-sam-translator).

    Raises:
        ConfigError: aws-sam-translator is not installed.
        DeployError: The translator rejects the template; its messages, one a line.
    """
    try:
        import boto3
        from samtranslator.model.exceptions import InvalidDocumentException
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.translator import Translator
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ConfigError(
            f"{source} uses the SAM transform; expanding it on the embedded backend needs aws-sam-translator: "
            "pip install 'iatk[moto]'"
        ) from err
    policies = managed_policy_map(body)
    session = boto3.Session(aws_access_key_id=DUMMY, aws_secret_access_key=DUMMY, region_name=region)
    translator = Translator(policies, Parser(), boto_session=session)
    try:
        expanded: dict[str, Any] = translator.translate(
            copy.deepcopy(body), parameter_values=dict(parameters), get_managed_policy_map=lambda: policies
        )
    except InvalidDocumentException as err:
        causes = "; ".join(getattr(cause, "message", str(cause)) for cause in err.causes) or str(err)
        raise DeployError(f"{source}: the SAM transform rejects the template: {causes}") from None
    except Exception as err:  # the translator's own errors carry a message of their own
        message = getattr(err, "message", None) or str(err)
        raise DeployError(f"{source}: the SAM transform failed: {type(err).__name__}: {message}") from None
    plain: dict[str, Any] = json.loads(json.dumps(expanded))  # plain dicts and lists, as parse_template gives
    return plain
