'use strict';
// Loads the addon (built by `npm install` into build/) and routes its events to the JS objects.
// TCPSOCKET_NODE_ADDON names another build (a sanitizer build, say).
const path = require('node:path');

const file = process.env.TCPSOCKET_NODE_ADDON || path.join(__dirname, '..', 'build', 'tcpsocket.node');
let native;
try {
  native = require(file);
} catch (error) {
  error.message = `tcpsocket: cannot load the addon ${file} (run \`npm install\` in bindings/node): ${error.message}`;
  throw error;
}

// The numbers the addon passes as an event's kind (src/addon.hpp, EventKind).
const Kind = Object.freeze({ Open: 0, Data: 1, Drain: 2, Error: 3, Close: 4, Connect: 5, ServerError: 6 });

module.exports = { native, Kind };
