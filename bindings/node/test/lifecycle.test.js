'use strict';
// How the binding lives inside Node's event loop: open sockets and listening servers keep the
// process alive, and nothing else does; an idle connection costs no CPU; events never fire from
// inside the call that caused them; promises settle between two events.
const test = require('node:test');
const assert = require('node:assert');
const { TCPSocket, TCPServerSocket } = require('..');
const { runNode } = require('./support/child');


test('a listening server keeps the process alive until it is closed, then the process exits by itself', { timeout: 20000 }, async () => {
  const r = await runNode(`
    const { TCPServerSocket } = require('.');
    const server = new TCPServerSocket(0, { localAddress: '127.0.0.1' });
    // Nothing else is pending in Node: only the server can keep the process here.
    setTimeout(() => { console.log('closing'); server.close(); }, 300).unref();
  `);
  assert.strictEqual(r.signal, null, r.stderr);
  assert.strictEqual(r.code, 0, r.stderr);
  assert.strictEqual(r.stdout, 'closing\n');
});

test('an open connection keeps the process alive until its close event; a module alone does not', { timeout: 20000 }, async () => {
  const idle = await runNode(`require('.'); console.log('loaded');`, 5000);
  assert.strictEqual(idle.code, 0, idle.stderr);
  assert.strictEqual(idle.stdout, 'loaded\n');
  const r = await runNode(`
    const { TCPSocket, TCPServerSocket } = require('.');
    const server = new TCPServerSocket(0, { localAddress: '127.0.0.1' });
    server.onconnect = ({ socket }) => {
      server.close();
      socket.ondata = ({ data }) => { console.log('server got ' + data); socket.close(); };
    };
    const client = new TCPSocket('127.0.0.1', server.localPort);
    client.onopen = () => setTimeout(() => client.send('late'), 300).unref();
    client.onclose = () => console.log('client closed');
  `);
  assert.strictEqual(r.code, 0, r.stderr);
  assert.strictEqual(r.stdout, 'server got late\nclient closed\n');
});

test('an idle open connection costs no CPU (the loop descriptor does not spin)', { timeout: 20000 }, async () => {
  const server = new TCPServerSocket(0, { localAddress: '127.0.0.1' });
  const client = new TCPSocket('127.0.0.1', server.localPort);
  await new Promise((r) => { client.onopen = r; });
  const before = process.cpuUsage();
  await new Promise((r) => setTimeout(r, 1000));
  const used = process.cpuUsage(before);
  const ms = (used.user + used.system) / 1000;
  // A spinning descriptor burns the whole second; an idle loop uses next to nothing.
  assert.ok(ms < 300, `an idle second cost ${ms.toFixed(0)} ms of CPU`);
  client.close();
  server.close();
  await new Promise((r) => { client.onclose = r; });
});

test('events never fire from inside the call that caused them, and promises settle between events', { timeout: 20000 }, async () => {
  const server = new TCPServerSocket(0, { localAddress: '127.0.0.1' });
  const log = [];
  server.onconnect = ({ socket }) => {
    socket.ondata = ({ data }) => socket.send(data);
  };
  const client = new TCPSocket('127.0.0.1', server.localPort);
  await new Promise((r) => { client.onopen = r; });
  client.ondata = ({ data }) => {
    log.push(`data ${data}`);
    Promise.resolve().then(() => log.push(`microtask after ${data}`));
  };
  client.onclose = () => log.push('close');
  log.push('send');
  client.send('a');
  log.push('close()');
  client.close();
  log.push('returned');
  await new Promise((r) => {
    const old = client.onclose;
    client.onclose = (e) => { old(e); r(); };
  });
  server.close();
  assert.deepStrictEqual(log.slice(0, 3), ['send', 'close()', 'returned']);
  assert.strictEqual(log[log.length - 1], 'close');
  const i = log.indexOf('data a');
  if (i >= 0) assert.strictEqual(log[i + 1], 'microtask after a', log.join(', '));
});

test('a worker thread has its own engine and ends cleanly with a socket open', { timeout: 20000 }, async () => {
  const r = await runNode(`
    const { Worker } = require('node:worker_threads');
    const w = new Worker(\`
      const { TCPSocket, TCPServerSocket } = require(process.cwd());
      const { parentPort } = require('node:worker_threads');
      const server = new TCPServerSocket(0, { localAddress: '127.0.0.1' });
      const client = new TCPSocket('127.0.0.1', server.localPort);
      client.onopen = () => parentPort.postMessage('open');
    \`, { eval: true });
    w.on('message', (m) => { console.log(m); w.terminate(); });
    w.on('exit', () => console.log('worker gone'));
  `);
  assert.strictEqual(r.code, 0, r.stderr);
  assert.strictEqual(r.stdout, 'open\nworker gone\n');
});
