console.log("init: cjs");
exports.handler = async (event, context) => ({
  event,
  awsRequestId: context.awsRequestId,
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  invokedFunctionArn: context.invokedFunctionArn,
  memoryLimitInMB: context.memoryLimitInMB,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  remaining: context.getRemainingTimeInMillis(),
});
exports.environ = async () => ({ environ: process.env });
exports.nested = { deeper: { handler: async () => "nested" } };
exports.layered = async () => require("greet").greet("node");
exports.sync = (event) => "ignored: the loop empties, AWS answers null";
exports.sleep = async (event) => new Promise((r) => setTimeout(() => r(process.pid), (event.seconds || 0.3) * 1000));
