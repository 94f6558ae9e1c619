'use strict';
// TLS options as the mail libraries pass them: `ca` (PEM text) for useSecureTransport and for
// upgradeToSecure, verification on by default, the name checked against the host that was opened
// (an IP address included).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { TCPSocket, TCPServerSocket } = require('..');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpsocket-node-tls-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
// A certificate that names only "localhost": it must not pass for 127.0.0.1.
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
  '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
  '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
const cert = fs.readFileSync(path.join(dir, 'cert.pem'), 'latin1');
const key = fs.readFileSync(path.join(dir, 'key.pem'), 'latin1');

function echoServer(options) {
  const server = new TCPServerSocket(0, { localAddress: '127.0.0.1', ...options });
  server.onconnect = ({ socket }) => {
    socket.ondata = ({ data }) => {
      if (data === 'STARTTLS\r\n') {
        socket.send('OK\r\n');
        socket.upgradeToSecure();
      } else {
        socket.send(data);
      }
    };
  };
  return server;
}

// Resolves with the events the client saw, in order, once it has closed.
function converse(socket, onOpen) {
  const events = [];
  return new Promise((resolve) => {
    socket.onopen = () => { events.push('open'); onOpen(socket, events); };
    socket.ondata = ({ data }) => {
      events.push(`data:${data}`);
      if (data === 'OK\r\n') {
        socket.upgradeToSecure();
        assert.strictEqual(socket.ssl, true, 'ssl reads true as soon as upgradeToSecure() returns');
        socket.send('after');
      } else {
        socket.close();
      }
    };
    socket.onerror = (e) => {
      assert.strictEqual(e.data.name, e.name, 'evt.data carries the name (era A/B shape)');
      assert.strictEqual(e.data.message, e.message);
      events.push(`error:${e.name}`);
    };
    socket.onclose = () => { events.push('close'); resolve(events); };
  });
}

test('useSecureTransport verifies against `ca` and the host name', { timeout: 20000 }, async () => {
  const server = echoServer({ useSecureTransport: true, cert, key });
  const ok = await converse(new TCPSocket('localhost', server.localPort, { useSecureTransport: true, ca: cert }),
    (s) => s.send('hello'));
  assert.deepStrictEqual(ok, ['open', 'data:hello', 'close']);
  // Without `ca` the self-signed certificate is not trusted: verification is on by default.
  const untrusted = await converse(new TCPSocket('localhost', server.localPort, { useSecureTransport: true }), () => {});
  assert.deepStrictEqual(untrusted, ['error:SecurityUntrustedCertificateIssuerError', 'close']);
  const byIp = await converse(new TCPSocket('127.0.0.1', server.localPort, { useSecureTransport: true, ca: cert }), () => {});
  assert.deepStrictEqual(byIp, ['error:SecurityCertificateDomainMismatchError', 'close']);
  server.close();
});

test('upgradeToSecure() honours `ca` and checks the opened host', { timeout: 20000 }, async () => {
  const server = echoServer({ cert, key });
  const ok = await converse(new TCPSocket('localhost', server.localPort, { ca: cert }), (s) => s.send('STARTTLS\r\n'));
  assert.deepStrictEqual(ok, ['open', 'data:OK\r\n', 'data:after', 'close']);
  const byIp = await converse(new TCPSocket('127.0.0.1', server.localPort, { ca: cert }), (s) => s.send('STARTTLS\r\n'));
  assert.deepStrictEqual(byIp, ['open', 'data:OK\r\n', 'error:SecurityCertificateDomainMismatchError', 'close']);
  server.close();
});

test('unusable TLS options throw TLSConfigurationError at construction', () => {
  assert.throws(() => new TCPServerSocket(0, { localAddress: '127.0.0.1', useSecureTransport: true, cert, key: 'not a key' }),
    (e) => e.name === 'TLSConfigurationError');
  assert.throws(() => new TCPSocket('localhost', 1, { useSecureTransport: true, pins: ['md5/nonsense'] }),
    (e) => e.name === 'TLSConfigurationError');
});
