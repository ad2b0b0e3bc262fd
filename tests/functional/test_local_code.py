"""Local code in a plain CloudFormation template, and deploy_once's owner check (issues 15 and 22).

``AWS::Lambda::Function.Code`` and ``AWS::Lambda::LayerVersion.Content`` given as a local directory
(what ``aws cloudformation package`` uploads) are zipped and uploaded by ``deploy_stack`` on the
embedded backend, with the same packaging code as SAM's ``CodeUri``; on AWS the deploy fails before
any call, saying how to package.
"""

from __future__ import annotations

import json
import zipfile
from io import BytesIO

import pytest

import iatk
from iatk._backend.moto.packaging import ARTIFACT_BUCKET, local_artifact_paths, package_local_artifacts
from iatk._tags import TAG_OWNER, override_owner
from iatk._templates import read_template
from iatk.exceptions import DeployError
from iatk.stack import deploy_once


@pytest.fixture
def template(data_dir):
    return data_dir / "templates" / "local_code" / "template.yaml"


def test_local_code_and_layer_are_packaged_as_s3_locations(template):
    """Code and Content become S3Bucket/S3Key of zips holding the folders' files (no __pycache__)."""
    source = read_template(template)
    assert [str(p) for p in local_artifact_paths(source.body)] == [
        "Shared (AWS::Lambda::LayerVersion) Content: 'layer/'",
        "Greeter (AWS::Lambda::Function) Code: 'src'",
    ]
    packaged, artifacts = package_local_artifacts(source.body, source.folder, source="t")
    code = packaged["Resources"]["Greeter"]["Properties"]["Code"]
    content = packaged["Resources"]["Shared"]["Properties"]["Content"]
    assert code["S3Bucket"] == content["S3Bucket"] == ARTIFACT_BUCKET
    files = {a.key: sorted(zipfile.ZipFile(BytesIO(a.data)).namelist()) for a in artifacts}
    assert files[code["S3Key"]] == ["pkg/__init__.py", "pkg/greet.py"]
    assert files[content["S3Key"]] == ["python/shout.py"]
    assert source.body["Resources"]["Greeter"]["Properties"]["Code"] == "src"  # the input is not changed


def test_local_code_function_runs_on_the_embedded_backend(template, moto_session):
    """The deployed function runs its local code with its local layer on /opt."""
    stack = iatk.deploy_stack(template, "local-code", session=moto_session)
    try:
        answer = moto_session.client("lambda").invoke(
            FunctionName=stack.output("FunctionName"), Payload=json.dumps({"name": "there"}).encode()
        )
        assert "FunctionError" not in answer
        assert json.loads(answer["Payload"].read()) == {
            "said": "HELLO THERE!",
            "function": stack.output("FunctionName"),
        }
    finally:
        stack.delete()


def test_local_code_on_aws_says_how_to_package(template):
    """On AWS a plain template with a local Code fails before any call, naming aws cloudformation package."""
    import boto3

    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    with pytest.raises(DeployError) as caught:
        iatk.deploy_stack(template, "never-created", session=session)
    message = str(caught.value)
    assert "Greeter (AWS::Lambda::Function) Code: 'src'" in message
    assert "Shared (AWS::Lambda::LayerVersion) Content: 'layer/'" in message
    assert f"aws cloudformation package --template-file {template} --s3-bucket <bucket>" in message
    assert "sam package" not in message


def test_a_missing_local_path_is_a_config_error(tmp_path, moto_session):
    """A Code path that does not exist is named, with where it was looked for."""
    (tmp_path / "t.yaml").write_text(
        "Resources:\n  F:\n    Type: AWS::Lambda::Function\n"
        "    Properties: {Runtime: python3.12, Handler: a.b, Role: arn:aws:iam::123456789012:role/r, Code: nowhere/}\n"
    )
    with pytest.raises(iatk.ConfigError, match=r"F \(AWS::Lambda::Function\) Code: 'nowhere/' does not exist"):
        iatk.deploy_stack(tmp_path / "t.yaml", "never-made", session=moto_session)


QUEUE_TEMPLATE = "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n"


def test_deploy_once_reuses_only_this_owners_stack(moto_session):
    """A stack with this run's id but another owner (a twin run that set the same IATK_RUN_ID) is not reused."""
    with override_owner("elsewhere/4242/2024-01-01T00:00:00Z"):
        theirs = iatk.deploy_stack(QUEUE_TEMPLATE, "owned-once", session=moto_session)
    try:
        described = moto_session.client("cloudformation").describe_stacks(StackName=theirs.arn)["Stacks"][0]
        tags = {t["Key"]: t["Value"] for t in described["Tags"]}
        assert tags[TAG_OWNER] == "elsewhere/4242/2024-01-01T00:00:00Z"
        with pytest.raises(DeployError, match="owned-once"):
            deploy_once(QUEUE_TEMPLATE, "owned-once", session=moto_session)
    finally:
        theirs.delete()
    mine = deploy_once(QUEUE_TEMPLATE, "owned-once-2", session=moto_session)
    try:
        again = deploy_once(QUEUE_TEMPLATE, "owned-once-2", session=moto_session)
        assert again.arn == mine.arn
    finally:
        mine.delete()
