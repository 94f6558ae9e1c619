'use strict';
// Backpressure seen from JavaScript: the reference's 64 KiB rule (send() turns false, one drain
// once everything is written) against a peer that does not read, and bounded memory while a
// quarter of a gigabyte flows through suspend()/resume().
const test = require('node:test');
const assert = require('node:assert');
const net = require('node:net');
const { once } = require('node:events');
const { TCPSocket, TCPServerSocket } = require('..');

function opened(socket) {
  return new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = (e) => reject(new Error(`${e.name}: ${e.message}`));
  });
}

test('send() turns false past 64 KiB to a peer that does not read, and drain fires once it reads', { timeout: 20000 }, async () => {
  let peer;
  const server = net.createServer((s) => { peer = s; s.pause(); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const sock = new TCPSocket('127.0.0.1', server.address().port, { binaryType: 'arraybuffer' });
  await opened(sock);
  let drains = 0;
  sock.ondrain = () => { drains += 1; };
  const chunk = new ArrayBuffer(65536);
  assert.strictEqual(sock.send(chunk), true, 'exactly 64 KiB buffered is not full');
  // Fill the kernel's buffers too: keep sending until the engine holds data it cannot write.
  let sent = 65536;
  while (sock.send(chunk)) sent += 65536;
  sent += 65536;
  assert.ok(sock.bufferedAmount > 0, 'bytes wait in the engine for the peer');
  // The peer still does not read: no drain may fire.
  await new Promise((r) => setTimeout(r, 200));
  assert.strictEqual(drains, 0, 'drain fired before the peer read anything');
  let received = 0;
  peer.on('data', (d) => { received += d.length; });
  peer.resume();
  await new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`no drain; ${received} of ${sent} bytes arrived`)), 15000);
    sock.ondrain = () => {
      drains += 1;
      assert.strictEqual(sock.bufferedAmount, 0, 'bufferedAmount is 0 in ondrain');
      clearTimeout(deadline);
      resolve();
    };
  });
  assert.strictEqual(drains, 1);
  sock.close();
  await new Promise((r) => { sock.onclose = r; });
  while (received < sent) await once(peer, 'data');
  assert.strictEqual(received, sent);
  peer.destroy();
  server.close();
});

test('256 MiB through suspend()/resume() keeps the process RSS bounded', { timeout: 60000 }, async () => {
  const total = 256 * 1024 * 1024;
  const server = new TCPServerSocket(0, { localAddress: '127.0.0.1', binaryType: 'arraybuffer' });
  let received = 0;
  let suspensions = 0;
  const done = new Promise((resolve, reject) => {
    server.onconnect = ({ socket }) => {
      socket.onerror = (e) => reject(new Error(`${e.name}: ${e.message}`));
      socket.ondata = ({ data }) => {
        const before = received;
        received += data.byteLength;
        // Every 8 MiB the reader stops for a moment, as a slow consumer would.
        if (Math.floor(before / (8 << 20)) !== Math.floor(received / (8 << 20))) {
          socket.suspend();
          suspensions += 1;
          setTimeout(() => socket.resume(), 5);
        }
        if (received === total) resolve();
      };
    };
  });
  const client = new TCPSocket('127.0.0.1', server.localPort, { binaryType: 'arraybuffer' });
  await opened(client);
  const chunk = new ArrayBuffer(256 * 1024);
  new Uint8Array(chunk).fill(7);
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let sent = 0;
  const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
  await new Promise((resolve) => {
    const pump = () => {
      while (sent < total) {
        sent += chunk.byteLength;
        if (!client.send(chunk)) return; // ondrain calls pump again
      }
      resolve();
    };
    client.ondrain = pump;
    pump();
  });
  await done;
  clearInterval(sample);
  peak = Math.max(peak, process.memoryUsage().rss);
  assert.strictEqual(received, total);
  assert.ok(suspensions >= 16, `the reader suspended ${suspensions} times`);
  const growth = (peak - baseline) / (1 << 20);
  assert.ok(growth < 64, `RSS grew by ${growth.toFixed(1)} MiB while 256 MiB flowed`);
  client.close();
  server.close();
  await new Promise((r) => { client.onclose = r; });
});
