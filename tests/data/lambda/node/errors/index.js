exports.handler = async () => { throw new RangeError("node boom"); };
exports.exits = async () => { process.exit(7); };
exports.notfn = 42;
