exports.handler = async () => { throw new RangeError("node boom"); };
exports.exits = async () => { process.exit(7); };
exports.notfn = 42;
exports.uncaught = async () => {
  setTimeout(() => { throw new Error("thrown later"); }, 10);
  return new Promise(() => {});
};
