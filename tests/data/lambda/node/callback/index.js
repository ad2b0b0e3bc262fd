exports.handler = (event, context, callback) => {
  let late = "not yet";
  setTimeout(() => { late = "ran"; console.log("timer ran"); }, 50);
  callback(null, { callback: true, event });
};
exports.nowait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => {}, 3000);
  callback(null, "answered without waiting");
};
exports.fails = (event, context, callback) => callback(new TypeError("callback failure"));
