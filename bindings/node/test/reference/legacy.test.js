'use strict';
// Port of Mozilla's dom/network/tests/test_tcpsocket_legacy.html ("Test for Bug 885982"): the
// legacy navigator.mozTCPSocket entry points, listen() and open(), still work. The server closes
// both itself and the accepted socket as soon as the connection arrives, so the client sees open
// and then close.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { mozTCPSocket, TCPSocket, TCPServerSocket } = require('../..');

test('Test for Bug 885982: runTest', { timeout: 20000 }, async (t) => {
  const leftovers = [];
  t.after(() => {
    for (const item of leftovers) {
      try {
        if (item instanceof TCPServerSocket) item.close();
        else if (item.readyState !== 'closed') item.closeImmediately();
      } catch (e) {
        // cleanup must reach every item
      }
    }
  });

  const seen = [];
  // Port 0 where Mozilla used 8085 (bug 903830); loopback only where the reference bound every
  // interface.
  let listeningServer = mozTCPSocket.listen(0, { binaryType: 'arraybuffer', localAddress: '127.0.0.1' }, -1);
  leftovers.push(listeningServer);
  assert.ok(listeningServer instanceof TCPServerSocket, 'listen() returns a TCPServerSocket');
  const serverPort = listeningServer.localPort;

  listeningServer.onconnect = (ev) => {
    seen.push('server connect');
    leftovers.push(ev.socket);
    listeningServer.close();
    listeningServer = null;
    ev.socket.close();
  };

  let clientSocket = mozTCPSocket.open('127.0.0.1', serverPort, { binaryType: 'arraybuffer' });
  leftovers.push(clientSocket);
  assert.ok(clientSocket instanceof TCPSocket, 'open() returns a TCPSocket');

  await new Promise((resolve) => {
    clientSocket.onopen = () => { seen.push('client open'); };
    clientSocket.onerror = (event) => { seen.push(`client error ${event.name}`); };
    clientSocket.onclose = () => {
      seen.push('client close');
      // Closing again after the close event is harmless.
      clientSocket.close();
      clientSocket = null;
      resolve();
    };
  });

  assert.ok(seen.includes('server connect'), `got server connect (events: ${seen.join(', ')})`);
  const clientEvents = seen.filter((e) => e.startsWith('client'));
  assert.deepEqual(clientEvents, ['client open', 'client close'], 'got client open, then client close');
});
