'use strict';
// The cause behind an error's name (an extension, index.d.ts TCPSocketErrorCause): the errno,
// resolver answer or OpenSSL reason that made it, shaped as Node's own errors are
// (`code: 'ECONNREFUSED'`), so that code written for `net` can read it the same way.
const test = require('node:test');
const assert = require('node:assert');
const net = require('node:net');
const { TCPSocket } = require('..');

function firstError(socket) {
  return new Promise((resolve) => {
    socket.onerror = (event) => resolve(event);
  });
}

async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('a refused connection carries ECONNREFUSED, as Node names it', { timeout: 20000 }, async () => {
  const socket = new TCPSocket('127.0.0.1', await closedPort());
  const event = await firstError(socket);
  assert.strictEqual(event.name, 'ConnectionRefusedError');
  assert.strictEqual(event.cause.category, 'system');
  assert.strictEqual(event.cause.code, 'ECONNREFUSED');
  assert.strictEqual(event.data.code, 'ECONNREFUSED');
  assert.strictEqual(event.data.cause, event.cause);
  assert.ok(event.cause instanceof Error);
});

test('a TLS handshake answered in plaintext carries OpenSSL\'s reason', { timeout: 20000 }, async () => {
  const server = net.createServer((c) => c.end('HTTP/1.0 400 Bad Request\r\n\r\n'));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const socket = new TCPSocket('127.0.0.1', server.address().port, { useSecureTransport: true });
    const event = await firstError(socket);
    assert.strictEqual(event.name, 'SecurityError');
    assert.strictEqual(event.cause.category, 'openssl');
    assert.strictEqual(event.cause.message, 'wrong version number');
    assert.strictEqual(event.cause.code, undefined);
  } finally {
    server.close();
  }
});

test('an error no lower layer raised has no cause', { timeout: 20000 }, async () => {
  const server = net.createServer((c) => c.on('error', () => {}));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const socket = new TCPSocket('127.0.0.1', server.address().port, {
      maxBufferedAmount: 65536,
    });
    await new Promise((resolve) => { socket.onopen = resolve; });
    socket.send('x'.repeat(8 * 1024 * 1024));
    const event = await firstError(socket);
    assert.strictEqual(event.name, 'BufferOverflowError');
    assert.strictEqual(event.cause, undefined);
    assert.strictEqual(event.data.cause, undefined);
  } finally {
    server.close();
  }
});
