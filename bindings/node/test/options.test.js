'use strict';
// The engine's options beyond the reference, as a JS user passes them (index.d.ts): each one has
// an effect, and a wrong one is refused with the right name.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { once } = require('node:events');
const { TCPSocket, TCPServerSocket } = require('..');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpsocket-node-options-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function manifest(name, json) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(json));
  return file;
}

function events(socket) {
  const seen = [];
  return new Promise((resolve) => {
    socket.onopen = () => seen.push('open');
    socket.onerror = (e) => seen.push(`error:${e.name}`);
    socket.onclose = () => { seen.push('close'); resolve(seen); };
  });
}

test('an app manifest is enforced: a web app gets no socket, a privileged app only its allowlist', { timeout: 20000 }, async () => {
  const web = manifest('web.webapp', { name: 'Game', type: 'web', permissions: { 'tcp-socket': {} } });
  assert.throws(() => new TCPSocket('127.0.0.1', 9, { manifest: web }), (e) => e.name === 'SecurityError');
  assert.throws(() => new TCPServerSocket(0, { localAddress: '127.0.0.1', manifest: web }), (e) => e.name === 'SecurityError');

  const server = new TCPServerSocket(0, { localAddress: '127.0.0.1' });
  server.onconnect = ({ socket }) => socket.close();
  const mail = manifest('mail.webapp', {
    name: 'Mail', type: 'privileged',
    permissions: { 'tcp-socket': { connect: [`127.0.0.1:${server.localPort}`] } },
  });
  const allowed = await events(new TCPSocket('127.0.0.1', server.localPort, { manifest: mail }));
  assert.deepStrictEqual(allowed, ['open', 'close']);
  const other = net.createServer((s) => s.destroy());
  other.listen(0, '127.0.0.1');
  await once(other, 'listening');
  const refused = await events(new TCPSocket('127.0.0.1', other.address().port, { manifest: mail }));
  assert.deepStrictEqual(refused, ['error:SecurityError', 'close']);
  other.close();
  server.close();
  assert.throws(() => new TCPSocket('127.0.0.1', 9, { manifest: path.join(dir, 'missing.webapp') }),
    (e) => e.name === 'ManifestError');
});

test('maxBufferedAmount fails a socket that outgrows it; idleTimeout ends a silent one', { timeout: 20000 }, async (t) => {
  const peers = [];
  const silent = net.createServer((s) => { peers.push(s); s.pause(); });
  t.after(() => { for (const p of peers) p.destroy(); silent.close(); });
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const capped = new TCPSocket('127.0.0.1', silent.address().port, { binaryType: 'arraybuffer', maxBufferedAmount: 65536 });
  const cappedEvents = events(capped);
  await new Promise((r) => { const o = capped.onopen; capped.onopen = (e) => { o(e); r(); }; });
  const chunk = new ArrayBuffer(65536);
  let sends = 0;
  while (capped.send(chunk) && sends < 10000) sends += 1;
  assert.deepStrictEqual(await cappedEvents, ['open', 'error:BufferOverflowError', 'close']);

  const idle = new TCPSocket('127.0.0.1', silent.address().port, { idleTimeout: 200 });
  assert.deepStrictEqual(await events(idle), ['open', 'error:NetworkTimeoutError', 'close']);
  assert.throws(() => new TCPSocket('127.0.0.1', 9, { maxBufferedAmount: 100 }), TypeError);
});

test('maxConnections pauses accepting at the limit and stats() counts it', { timeout: 20000 }, async () => {
  const server = new TCPServerSocket(0, { localAddress: '127.0.0.1', maxConnections: 1 });
  const accepted = [];
  server.onconnect = ({ socket }) => accepted.push(socket);
  const a = new TCPSocket('127.0.0.1', server.localPort);
  const b = new TCPSocket('127.0.0.1', server.localPort);
  await new Promise((r) => setTimeout(r, 300));
  assert.strictEqual(accepted.length, 1, 'only one connection is handed out at the limit');
  const stats = server.stats();
  assert.strictEqual(stats.open, 1);
  assert.ok(stats.pausesAtLimit >= 1 && stats.paused, JSON.stringify(stats));
  accepted[0].close();
  await new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error('the second connection was never accepted')), 10000);
    server.onconnect = ({ socket }) => { clearTimeout(deadline); socket.close(); resolve(); };
  });
  a.close();
  b.close();
  server.close();
});

test('option types are checked: each wrong one is a TypeError naming the field', () => {
  const cases = [
    [{ binaryType: 'blob' }, /binaryType/],
    [{ ca: 42 }, /ca/],
    [{ pins: 'sha256/x' }, /pins/],
    [{ minVersion: 'SSLv3' }, /minVersion/],
    [{ connectTimeout: -1 }, /connectTimeout/],
    [{ idleTimeout: 'soon' }, /idleTimeout/],
    [{ keepAlive: { idle: -5 } }, /keepAlive.idle/],
    [{ maxBufferedAmount: 1.5 }, /maxBufferedAmount/],
  ];
  for (const [options, field] of cases) {
    assert.throws(() => new TCPSocket('127.0.0.1', 9, options), (e) => e instanceof TypeError && field.test(e.message),
      JSON.stringify(options));
  }
  assert.throws(() => new TCPServerSocket(0, { maxConnections: -1 }), /maxConnections/);
  assert.throws(() => new TCPServerSocket(0, { localAddress: 'not an address' }), (e) => e.name === 'InvalidAddressError');
  assert.throws(() => new TCPSocket('127.0.0.1', 9, 'options'), TypeError);
});
