// cfn-response for inline Node.js functions (AWS provides this module beside inline `ZipFile` code):
// send(event, context, responseStatus, responseData, physicalResourceId, noEcho) PUTs the custom
// resource's answer to event.ResponseURL (http or https) and then ends the invocation.
"use strict";

exports.SUCCESS = "SUCCESS";
exports.FAILED = "FAILED";

exports.send = function (event, context, responseStatus, responseData, physicalResourceId, noEcho) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({
      Status: responseStatus,
      Reason: "See the details in CloudWatch Log Stream: " + context.logStreamName,
      PhysicalResourceId: physicalResourceId || context.logStreamName,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
      NoEcho: noEcho || false,
      Data: responseData,
    });
    const url = new URL(event.ResponseURL);
    const transport = url.protocol === "http:" ? require("http") : require("https");
    const req = transport.request(
      {
        hostname: url.hostname,
        port: url.port || undefined,
        path: url.pathname + url.search,
        method: "PUT",
        headers: { "content-type": "", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          if (typeof context.done === "function") context.done();
          resolve(res.statusCode);
        });
      },
    );
    req.on("error", (err) => {
      console.log("send(..) failed executing https.request(..): " + err);
      if (typeof context.done === "function") context.done();
      reject(err);
    });
    req.write(body);
    req.end();
  });
};
