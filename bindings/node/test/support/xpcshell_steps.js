'use strict';
// The step bookkeeping of Mozilla's xpcshell tests (add_test/run_next_test, do_throw), shared by
// the ports of test_tcpsocket.js and test_tcpserversocket.js. One test file runs per process, so
// the state below is that file's.

/*
 * Step bookkeeping. A step succeeds when the success callbacks created during it have all been
 * called; a failure callback (or a failed check) fails whichever step is running, or the next
 * one if it fires in between, as do_throw() failed the whole xpcshell test.
 */
let currentStep = null;
const pendingFailures = [];

function fail(error) {
  if (currentStep) {
    const { reject } = currentStep;
    currentStep = null;
    reject(error);
  } else {
    pendingFailures.push(error);
  }
}

function check(condition, message) {
  if (!condition) fail(new Error(message));
}

function runTestStep(fn) {
  return new Promise((resolve, reject) => {
    if (pendingFailures.length) {
      reject(pendingFailures.shift());
      return;
    }
    currentStep = { resolve, reject };
    try {
      fn();
    } catch (error) {
      fail(error);
    }
  });
}

// Success callbacks are tied to the step that created them, so a late one cannot end another.
function stepFinisher() {
  const step = currentStep;
  return () => {
    if (step && currentStep === step) {
      currentStep = null;
      step.resolve();
    }
  };
}

function makeSuccessCase(name) {
  return stepFinisher();
}

function makeJointSuccess(names) {
  const finish = stepFinisher();
  const seen = new Set();
  const funcs = {};
  for (const name of names) {
    funcs[name] = () => {
      seen.add(name);
      if (seen.size === names.length) finish();
    };
  }
  return funcs;
}

function describeArgs(args) {
  if (!args.length) return '(no arguments)';
  return '(args: ' + args.map((x) => (x && x.data !== undefined ? String(x.data) : String(x))).join(' ') + ')';
}

function makeFailureCase(name) {
  return (...args) => fail(new Error(`got unexpected: ${name} ${describeArgs(args)}`));
}

function toBytes(received, fromEvent, name) {
  if (fromEvent) {
    const payload = received.data;
    if (!(payload instanceof ArrayBuffer)) {
      fail(new Error(`${name}: payload is not an ArrayBuffer but ${Object.prototype.toString.call(payload)}`));
      return new Uint8Array(0);
    }
    return new Uint8Array(payload);
  }
  return new Uint8Array(received.buffer, received.byteOffset, received.length);
}

/**
 * Accumulates data (events of our client when `fromEvent`, Buffers of the raw server otherwise)
 * until `expectedData.length` bytes; they must match exactly and no byte may follow.
 */
function makeExpectData(name, expectedData, fromEvent, callback) {
  const finish = callback || stepFinisher();
  const chunks = [];
  let length = 0;
  let done = false;
  return (received) => {
    const bytes = toBytes(received, fromEvent, name);
    chunks.push(Buffer.from(bytes));
    length += bytes.length;
    if (done) {
      fail(new Error(`${name} Received data event when already done!`));
      return;
    }
    if (length >= expectedData.length) {
      const all = Buffer.concat(chunks);
      for (let i = 0; i < expectedData.length; i++) {
        if (all[i] !== expectedData[i]) {
          fail(new Error(`${name} Received mismatched character at position ${i}`));
          return;
        }
      }
      if (all.length > expectedData.length) {
        fail(new Error(`${name} Received ${all.length} bytes but only expected ${expectedData.length} bytes.`));
        return;
      }
      done = true;
      finish();
    }
  };
}

function run_next_test() {
  stepFinisher()();
}

/** Forgets the running step (at the end of a chain, whatever it left behind). */
function abandonStep() {
  currentStep = null;
}

/** The failures that arrived while no step was running, emptied. */
function takePendingFailures() {
  return pendingFailures.splice(0);
}

module.exports = {
  fail, check, runTestStep, stepFinisher, run_next_test, makeSuccessCase, makeJointSuccess,
  makeFailureCase, makeExpectData, abandonStep, takePendingFailures,
};
