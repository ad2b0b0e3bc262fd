// iatk's Node.js bootstrap: the runtime loop of one execution environment (`node bootstrap.js`).
//
// AWS's loop against the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API: load the handler (_HANDLER:
// `index.handler`, `src/app.handler`, `index.nested.handler`) from LAMBDA_TASK_ROOT as CommonJS
// (`.js`, `.cjs`) or an ES module (`.mjs`, or `.js` under `"type": "module"`); on failure post
// /init/error (Runtime.ImportModuleError, Runtime.UserCodeSyntaxError, Runtime.HandlerNotFound,
// Runtime.MalformedHandlerName) and exit; then forever: next, call handler(event, context[, callback]),
// post the response or {errorType, errorMessage, trace} (AWS's Node shape). Async handlers resolve or
// reject; callback handlers answer through the callback, after the event loop empties while
// context.callbackWaitsForEmptyEventLoop is true (the default); a handler that neither returns a
// promise nor calls back answers null when the loop empties, as on AWS.
// console.* lines get AWS's prefix: ISO time, request id, level.
"use strict";

const fs = require("fs");
const http = require("http");
const path = require("path");
const util = require("util");
const { pathToFileURL } = require("url");

const API = process.env.AWS_LAMBDA_RUNTIME_API || "";
const [API_HOST, API_PORT] = [API.slice(0, API.lastIndexOf(":")), Number(API.slice(API.lastIndexOf(":") + 1))];
const AGENT = new http.Agent({ keepAlive: true, maxSockets: 1 });
const ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type";

let currentRequestId = "";
let inFlight = null; // {id, done: false} while an invocation waits for its answer

function request(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const req = http.request(
      {
        host: API_HOST,
        port: API_PORT,
        method,
        path: `/2018-06-01/runtime/${p}`,
        agent: AGENT,
        headers: Object.assign(data ? { "Content-Length": data.length } : {}, headers || {}),
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

function patchConsole() {
  const write = (level) => (...args) => {
    const line = `${new Date().toISOString()}\t${currentRequestId || "undefined"}\t${level}\t${util.format(...args)}\n`;
    process.stdout.write(line.replace(/\n(?!$)/g, "\r"));
  };
  console.log = write("INFO");
  console.info = write("INFO");
  console.warn = write("WARN");
  console.error = write("ERROR");
  console.debug = write("DEBUG");
  console.trace = write("TRACE");
}

function errorDoc(err, fallbackType) {
  if (err instanceof Error) {
    const trace = typeof err.stack === "string" ? err.stack.split("\n") : [];
    return { errorType: err.name || fallbackType || "Error", errorMessage: err.message, trace };
  }
  let message;
  try {
    message = typeof err === "string" ? err : JSON.stringify(err);
  } catch (_e) {
    message = String(err);
  }
  return { errorType: fallbackType || "string", errorMessage: message, trace: [] };
}

class Fault extends Error {
  constructor(type, message) {
    super(message);
    this.name = type;
  }
}

function typeIsModule(dir) {
  // The nearest package.json from the handler's directory up to the task root decides `.js`.
  const root = path.resolve(process.env.LAMBDA_TASK_ROOT || ".");
  let d = path.resolve(dir);
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(d, "package.json"), "utf8"));
      return pkg.type === "module";
    } catch (_e) {
      /* no or unreadable package.json here: look higher */
    }
    if (d === root || path.dirname(d) === d) return false;
    d = path.dirname(d);
  }
}

async function loadHandler(spec) {
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const slash = spec.lastIndexOf("/");
  const dot = spec.indexOf(".", slash + 1);
  if (dot < 0) throw new Fault("Runtime.MalformedHandlerName", "Bad handler");
  const modulePath = spec.slice(0, dot);
  const handlerPath = spec.slice(dot + 1);
  const base = path.resolve(root, modulePath);
  let mod;
  try {
    if (fs.existsSync(`${base}.mjs`)) {
      mod = await import(pathToFileURL(`${base}.mjs`).href);
    } else if (fs.existsSync(`${base}.cjs`)) {
      mod = require(`${base}.cjs`);
    } else if (fs.existsSync(`${base}.js`) && typeIsModule(path.dirname(base))) {
      mod = await import(pathToFileURL(`${base}.js`).href);
    } else {
      try {
        mod = require(base);
      } catch (err) {
        if (err && err.code === "ERR_REQUIRE_ESM") mod = await import(pathToFileURL(`${base}.js`).href);
        else throw err;
      }
    }
  } catch (err) {
    if (err instanceof SyntaxError) throw new Fault("Runtime.UserCodeSyntaxError", `${err.name}: ${err.message}`);
    if (err && (err.code === "MODULE_NOT_FOUND" || err.code === "ERR_MODULE_NOT_FOUND")) {
      throw new Fault("Runtime.ImportModuleError", `Error: ${err.message}`);
    }
    throw err;
  }
  const walk = (root_) => handlerPath.split(".").reduce((o, k) => (o == null ? undefined : o[k]), root_);
  let fn = walk(mod);
  // A CommonJS module imported as an ES module: its exports are the namespace's default.
  if (fn === undefined && mod && mod.default) fn = walk(mod.default);
  if (fn === undefined) throw new Fault("Runtime.HandlerNotFound", `${spec} is undefined or not exported`);
  if (typeof fn !== "function") throw new Fault("Runtime.HandlerNotFound", `${spec} is not a function`);
  return fn;
}

function makeContext(headers, finish) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"] || 0);
  const parse = (v) => {
    try {
      return v ? JSON.parse(v) : undefined;
    } catch (_e) {
      return undefined;
    }
  };
  return {
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parse(headers["lambda-runtime-client-context"]),
    identity: parse(headers["lambda-runtime-cognito-identity"]),
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    done: (err, result) => finish(err, result, false),
    succeed: (result) => finish(null, result, false),
    fail: (err) => finish(err == null ? new Error("handled") : err, undefined, false),
  };
}

async function post(id, err, result) {
  if (err != null) {
    const doc = errorDoc(err);
    console.error("Invoke Error", JSON.stringify(doc));
    await request("POST", `invocation/${id}/error`, JSON.stringify(doc), { [ERROR_TYPE_HEADER]: doc.errorType });
  } else {
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch (e) {
      const doc = { errorType: "Runtime.MarshalError", errorMessage: `Unable to stringify response body: ${e}`, trace: [] };
      await request("POST", `invocation/${id}/error`, JSON.stringify(doc), { [ERROR_TYPE_HEADER]: doc.errorType });
      return;
    }
    await request("POST", `invocation/${id}/response`, body);
  }
}

let waitingForEmptyLoop = null; // [err, result] held until the event loop empties

function invoke(handler, res) {
  return new Promise((resolve) => {
    const id = res.headers["lambda-runtime-aws-request-id"];
    const state = { id, done: false, resolve };
    inFlight = state;
    currentRequestId = id;
    const trace = res.headers["lambda-runtime-trace-id"];
    if (trace) process.env._X_AMZN_TRACE_ID = trace;
    else delete process.env._X_AMZN_TRACE_ID;
    let context;
    const finish = (err, result, fromCallback) => {
      if (state.done) return;
      state.done = true;
      if (fromCallback && context.callbackWaitsForEmptyEventLoop) {
        waitingForEmptyLoop = [state, err, result];
        return;
      }
      post(id, err, result).then(resolve, resolve);
    };
    context = makeContext(res.headers, finish);
    let event;
    try {
      event = res.body.length ? JSON.parse(res.body.toString("utf8")) : {};
    } catch (e) {
      finish(new Fault("Runtime.UnmarshalError", `Unable to parse event: ${e.message}`), undefined, false);
      return;
    }
    try {
      const out = handler(event, context, (err, result) => finish(err, result, true));
      if (out && typeof out.then === "function") out.then((r) => finish(null, r, false), (e) => finish(e, undefined, false));
    } catch (err) {
      finish(err, undefined, false);
    }
  });
}

process.on("beforeExit", () => {
  // The event loop is empty: answer a callback that waited for it, or a handler that never answered.
  if (waitingForEmptyLoop) {
    const [state, err, result] = waitingForEmptyLoop;
    waitingForEmptyLoop = null;
    post(state.id, err, result).then(state.resolve, state.resolve);
  } else if (inFlight && !inFlight.done) {
    const state = inFlight;
    state.done = true;
    post(state.id, null, null).then(state.resolve, state.resolve);
  }
});

function fatal(kind) {
  return (err) => {
    const doc = errorDoc(err, kind);
    if (kind === "Runtime.UnhandledPromiseRejection") {
      doc.errorType = kind;
      doc.errorMessage = err instanceof Error ? `${err.name}: ${err.message}` : doc.errorMessage;
    }
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\tERROR\t${kind}\t${JSON.stringify(doc)}\n`);
    const state = inFlight;
    const path_ = state && !state.done ? `invocation/${state.id}/error` : "init/error";
    if (state) state.done = true;
    request("POST", path_, JSON.stringify(doc), { [ERROR_TYPE_HEADER]: doc.errorType }).finally(() => process.exit(129));
  };
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler(process.env._HANDLER || "");
  } catch (err) {
    const doc = errorDoc(err);
    process.stdout.write(`${new Date().toISOString()}\tundefined\tERROR\tUncaught Exception\t${JSON.stringify(doc)}\n`);
    await request("POST", "init/error", JSON.stringify(doc), { [ERROR_TYPE_HEADER]: doc.errorType });
    process.exit(129);
  }
  process.on("uncaughtException", fatal("Runtime.UncaughtException"));
  process.on("unhandledRejection", fatal("Runtime.UnhandledPromiseRejection"));
  for (;;) {
    const res = await request("GET", "invocation/next");
    if (res.status !== 200) process.exit(1);
    await invoke(handler, res);
    inFlight = null;
  }
}

main();
