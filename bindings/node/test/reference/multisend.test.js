'use strict';
// Port of Mozilla's dom/network/tests/unit/test_multisend.js: two sends of slices of one buffer,
// made back to back inside onopen, reach a raw peer whole and in order. The raw nsIServerSocket
// of the original is a Node `net` server here.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { TCPSocket } = require('../..');

test('test_multisend.js: run_test', { timeout: 20000 }, async (t) => {
  const connections = [];
  const server = net.createServer((connection) => {
    connections.push(connection);
    connection.on('error', () => {});
  });
  let sock = null;
  t.after(() => {
    if (sock && sock.readyState !== 'closed') {
      try { sock.closeImmediately(); } catch (e) { /* the assertions below reported it */ }
    }
    for (const connection of connections) connection.destroy();
    server.close();
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });

  sock = new TCPSocket('127.0.0.1', server.address().port, { binaryType: 'arraybuffer' });

  // Copied into a buffer of its own so that offsets 0 and 2 are offsets into "OKBYE" itself.
  const ok = new Uint8Array(new TextEncoder().encode('OKBYE'));
  const expected = ['O', 'K', 'B', 'Y', 'E'].map((c) => c.charCodeAt(0));

  const seenData = await new Promise((resolve, reject) => {
    let seen = [];
    server.on('connection', (connection) => {
      connection.on('data', (data) => {
        seen = seen.concat([...data]);
        if (seen.length >= expected.length) resolve(seen);
      });
    });
    sock.onerror = (event) => reject(new Error(`client error ${event.name}: ${event.message}`));
    sock.onopen = () => {
      sock.send(ok.buffer, 0, 2);
      sock.send(ok.buffer, 2, 3);
    };
  });

  assert.deepEqual(seenData, expected);
  const closed = new Promise((resolve) => { sock.onclose = resolve; });
  sock.onerror = null;
  sock.close();
  await closed;
});
