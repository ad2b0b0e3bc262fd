console.log("init: esm");
export const handler = async (event, context) => ({ esm: true, event, awsRequestId: context.awsRequestId });
