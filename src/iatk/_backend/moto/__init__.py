"""The embedded backend: everything that exists only to run iatk's suites on a local moto server.

Nothing outside this package imports moto. The public entry points stay in :mod:`iatk.embedded`
(``EmbeddedBackend``, ``embedded_session``); the modules here are its parts:

- :mod:`.server`: :class:`~.server.EmbeddedBackend`, ``embedded_session``, the werkzeug server;
- :mod:`.control`: the server's control API (``/moto-api/reset``, ``/moto-api/config``);
- :mod:`.patches`: fix-ups of moto itself (the serialised EventBridge backend, the primed boto3 session);
- :mod:`.xray_relay`: the X-Ray daemon relay (UDP → ``PutTraceSegments``);
- :mod:`.otlp_receiver` / :mod:`.otlp_segments`: ``POST /v1/traces`` on the server's port, OTLP spans
  stored as X-Ray segment documents;
- :mod:`.transaction_search`: Transaction Search's X-Ray operations, which moto lacks;
- :mod:`.sfn_segments`: Step Functions executions' service segments (and their trace header, passed
  on to the Task calls);
- :mod:`.trace_context`: the trace header a request carries, kept for the services it reaches;
- :mod:`.sqs_segments` / :mod:`.sns_segments` / :mod:`.events_segments`: the header on SQS messages
  (``AWSTraceHeader``), to SNS subscribers and EventBridge targets, and those services' X-Ray nodes;
- :mod:`.lambda_segments`: Lambda's service segments, for the offline Lambda runtime to record;
- :mod:`.lambda_` (the Docker-less runtime) and its wiring into moto: :mod:`.lambda_service` (the
  process's Lambda service: invocations, async retries and destinations, logs, traces, settle, prewarm),
  :mod:`.lambda_invoke` (moto's ``LambdaFunction.invoke`` seam and the Invoke API's answers),
  :mod:`.lambda_sqs` (SQS mappings as pollers), :mod:`.lambda_triggers` (SNS, the EventBridge target,
  custom resources), :mod:`.lambda_sfn` (Step Functions tasks' traces), :mod:`.lambda_control`
  (``/iatk-api/lambda/*``);
- :mod:`.templates`: what a template loses or gains on moto (skipped types, nested-template upload);
  :mod:`.packaging` (local code to the server's S3), :mod:`.sam` (the SAM transform, offline),
  :mod:`.references` (undefined references named before CreateStack);
- :mod:`.cloudformation` / :mod:`.cfn_models`: moto's CloudFormation models fixed, and models for
  types moto lacks;
- :mod:`.eventbridge` / :mod:`.eventbridge_put`: every rule target delivered, and PutEvents under load;
- :mod:`.environment`: plain boto3's environment for a run on the embedded backend;
- :mod:`.schemas`: the schema folder standing in for the Schema Registry;
- :mod:`.stepfunctions`: CloudFormation's state machines made executable on moto's interpreter;
- :mod:`.states` and :mod:`.asl`: the offline TestState emulator and its States Language evaluator.

The core reaches this package lazily, and only when a session is embedded (``AwsContext.embedded``):
``iatk.stack`` calls :mod:`.templates` and :mod:`.stepfunctions` from ``deploy_stack``. Nothing
here imports ``iatk.stack`` or ``iatk.embedded``, so the dependency runs one way: core → backend.

This file imports nothing, so importing one part does not load the others (or moto).
"""
