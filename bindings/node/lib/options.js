'use strict';
// Option dictionaries → the plain objects the addon reads (src/js_options.cpp). Fields of the
// reference (useSecureTransport, binaryType, localAddress) plus the engine's own; index.d.ts
// documents each one. A field of the wrong type is a TypeError naming it.
const webidl = require('./webidl');

function text(value, name, what) {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  throw new TypeError(`${what}: ${name} must be a string`);
}

// The engine's longest timeout (kMaxTimeout in include/tcpsocket/options.hpp), as setTimeout's.
const kMaxTimeout = 2147483647;

function millis(value, name, what) {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > kMaxTimeout) {
    throw new TypeError(`${what}: ${name} must be from 0 to ${kMaxTimeout} milliseconds`);
  }
  return Math.floor(n);
}

function count(value, name, what, max = 0xffffffff) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new TypeError(`${what}: ${name} must be an integer from 0 to ${max}`);
  return n;
}

function strings(value, name, what) {
  if (!Array.isArray(value)) throw new TypeError(`${what}: ${name} must be an array of strings`);
  return value.map((v) => text(v, name, what));
}

const tlsVersions = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

// The fields both kinds of socket share: TLS, connection tuning and the app policy.
function common(o, out, what) {
  if (o.ca !== undefined) out.ca = Array.isArray(o.ca) ? o.ca.map((c) => text(c, 'ca', what)).join('\n') : text(o.ca, 'ca', what);
  if (o.cert !== undefined) out.cert = text(o.cert, 'cert', what);
  if (o.key !== undefined) out.key = text(o.key, 'key', what);
  if (o.pins !== undefined) out.pins = strings(o.pins, 'pins', what);
  if (o.alpnProtocols !== undefined) out.alpnProtocols = strings(o.alpnProtocols, 'alpnProtocols', what);
  if (o.minVersion !== undefined) {
    if (!tlsVersions.includes(o.minVersion)) throw new TypeError(`${what}: minVersion must be one of ${tlsVersions.join(', ')}`);
    out.minVersion = o.minVersion;
  }
  if (o.handshakeTimeout !== undefined) out.handshakeTimeout = millis(o.handshakeTimeout, 'handshakeTimeout', what);
  if (o.idleTimeout !== undefined) out.idleTimeout = millis(o.idleTimeout, 'idleTimeout', what);
  if (o.userTimeout !== undefined) out.userTimeout = millis(o.userTimeout, 'userTimeout', what);
  if (o.noDelay !== undefined) out.noDelay = Boolean(o.noDelay);
  if (o.maxBufferedAmount !== undefined) out.maxBufferedAmount = count(o.maxBufferedAmount, 'maxBufferedAmount', what);
  if (o.keepAlive !== undefined && o.keepAlive !== false) {
    const k = o.keepAlive === true ? {} : webidl.dictionary(o.keepAlive, what);
    out.keepAlive = Object.create(null);
    for (const field of ['idle', 'interval', 'count']) {
      if (k[field] !== undefined) out.keepAlive[field] = count(k[field], `keepAlive.${field}`, what, 0x7fffffff);
    }
  }
  if (o.manifest !== undefined) out.manifest = text(o.manifest, 'manifest', what);
}

function socketOptions(value) {
  const what = 'TCPSocket';
  const o = webidl.dictionary(value, what);
  const out = Object.create(null); // the addon reads fields by name: nothing may be inherited
  out.useSecureTransport = Boolean(o.useSecureTransport);
  out.binaryType = webidl.binaryType(o.binaryType, what);
  common(o, out, what);
  if (o.servername !== undefined) out.servername = text(o.servername, 'servername', what);
  if (o.connectTimeout !== undefined) out.connectTimeout = millis(o.connectTimeout, 'connectTimeout', what);
  if (o.dangerouslyAcceptAnyCertificate !== undefined) out.dangerouslyAcceptAnyCertificate = Boolean(o.dangerouslyAcceptAnyCertificate);
  return out;
}

function serverOptions(value) {
  const what = 'TCPServerSocket';
  const o = webidl.dictionary(value, what);
  const out = Object.create(null);
  out.binaryType = webidl.binaryType(o.binaryType, what);
  if (o.localAddress !== undefined) out.localAddress = text(o.localAddress, 'localAddress', what);
  common(o, out, what);
  if (o.useSecureTransport !== undefined) out.useSecureTransport = Boolean(o.useSecureTransport);
  if (o.requestCert !== undefined) out.requestCert = Boolean(o.requestCert);
  if (o.maxConnections !== undefined) out.maxConnections = count(o.maxConnections, 'maxConnections', what);
  if (o.maxConnectionsPerAddress !== undefined) out.maxConnectionsPerAddress = count(o.maxConnectionsPerAddress, 'maxConnectionsPerAddress', what);
  if (o.reusePort !== undefined) out.reusePort = Boolean(o.reusePort);
  return out;
}

module.exports = { socketOptions, serverOptions };
