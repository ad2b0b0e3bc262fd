require("iatk-no-such-node-module");
exports.handler = async () => 1;
