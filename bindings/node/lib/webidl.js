'use strict';
const { types } = require('node:util');
// The WebIDL conversions the reference's IDL implies (docs/reference.md §1), done here
// so that a wrong argument is a TypeError before anything reaches the engine.

function requireArgs(args, count, what) {
  if (args.length < count) {
    throw new TypeError(`${what}: ${count} argument${count > 1 ? 's' : ''} required, but only ${args.length} present`);
  }
}

// DOMString / ByteString: ToString, which refuses a Symbol (String() would not).
const toStr = (value) => `${value}`;

// A port: an integer 0-65535. The IDL's `unsigned short` would wrap 70000 to 4464 and connect
// somewhere the caller never named; we refuse instead (listed in docs/node.md).
function port(value, what) {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new TypeError(`${what}: port must be an integer from 0 to 65535, got ${String(value)}`);
  }
  return n;
}

// `unsigned short` / `unsigned long` as WebIDL converts them (modulo, NaN -> 0): the reference's
// tests pass a backlog of -1, which is 65535.
const uint16 = (value) => (Number(value) >>> 0) & 0xffff;
const uint32 = (value) => Number(value) >>> 0;

function dictionary(value, what) {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' && typeof value !== 'function') {
    throw new TypeError(`${what}: options must be an object`);
  }
  return value;
}

function binaryType(value, what) {
  if (value === undefined) return 'string';
  const s = toStr(value);
  if (s !== 'string' && s !== 'arraybuffer') {
    throw new TypeError(`${what}: binaryType must be 'string' or 'arraybuffer', got '${s}'`);
  }
  return s;
}

// A real ArrayBuffer (of any realm), not a look-alike: a Proxy, an object whose prototype or
// toStringTag says ArrayBuffer, or a SharedArrayBuffer (the IDL does not say [AllowShared]) is
// converted to a string like any other non-buffer.
const isArrayBuffer = (value) => types.isArrayBuffer(value);

module.exports = { toStr, requireArgs, port, uint16, uint32, dictionary, binaryType, isArrayBuffer };
