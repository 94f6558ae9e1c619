'use strict';
// Runs a script in a child `node -e`, for what only a whole process shows: exit codes, keeping
// the process alive, uncaught exceptions, worker threads.
const { execFile } = require('node:child_process');
const path = require('node:path');

const bindingDir = path.join(__dirname, '..', '..');

/** Resolves with {code, signal, stdout, stderr}; `cwd` defaults to bindings/node (require('.')). */
function runNode(script, { timeout = 15000, cwd = bindingDir } = {}) {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // the child is a plain script, not a test file of this run
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { cwd, env, timeout }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, signal: error ? error.signal : null, stdout, stderr });
    });
  });
}

module.exports = { runNode };
