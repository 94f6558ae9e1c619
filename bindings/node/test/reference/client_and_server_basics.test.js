'use strict';
// Port of Mozilla's dom/network/tests/test_tcpsocket_client_and_server_basics.js to node:test.
// Both ends are ours: a TCPServerSocket hands out the server side, a TCPSocket is the client.
// The harness keeps the original's shape: every socket gets an event queue (non-data events in
// arrival order, data accumulated into one Uint8Array), and the test walks through the
// scenarios in the original order, on one listening server.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const os = require('node:os');
const { TCPSocket, TCPServerSocket } = require('../..');

// Every step gets its own bound; the whole walk through test_basics gets the sum.
const STEP_TIMEOUT = 20000;

// Mozilla passes -1, which the WebIDL unsigned short turns into 65535 (the OS clamps it).
const SERVER_BACKLOG = -1;

const BIG_LENGTH = 65536 + 3;

function concatUint8Arrays(a, b) {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}

// Reports the first differing index instead of a 64 KiB diff.
function assertUint8ArraysEqual(actual, expected, comparingWhat) {
  assert.equal(actual.length, expected.length,
    `${comparingWhat} arrays do not have the same length; ${actual.length} versus ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${comparingWhat} arrays differ at index ${i}: ${actual[i]} versus ${expected[i]}`);
    }
  }
}

// Problems seen outside any wait (a second connect, a listener error) fail the current step.
const strayProblems = [];

// Sockets and servers created by a test, closed in its `after` so the process can exit even
// when a step failed half-way.
const live = { sockets: new Set(), servers: new Set(), netServers: new Set(), netConnections: new Set() };

function closeEverything() {
  for (const socket of live.sockets) {
    for (const type of ['open', 'data', 'drain', 'error', 'close']) socket['on' + type] = null;
    try {
      if (socket.readyState !== 'closed') socket.closeImmediately();
    } catch (e) {
      // Cleanup must reach the other sockets; the steps report the failures that matter.
    }
  }
  live.sockets.clear();
  for (const server of live.servers) {
    try { server.close(); } catch (e) { /* as above */ }
  }
  live.servers.clear();
  for (const connection of live.netConnections) connection.destroy();
  live.netConnections.clear();
  for (const server of live.netServers) server.close();
  live.netServers.clear();
}

function createServer(port, options, backlog) {
  // The reference bound every interface; these tests stay on loopback.
  const server = new TCPServerSocket(port, { localAddress: '127.0.0.1', ...options }, backlog);
  live.servers.add(server);
  return server;
}

function createSocket(host, port, options) {
  const socket = new TCPSocket(host, port, options);
  live.sockets.add(socket);
  return socket;
}

/**
 * Hooks every handler of `socket` and returns the original's three waits. Must run in the same
 * turn as the constructor or the connect event, before any event can be dispatched.
 */
function listenForEventsOnSocket(socket, socketType) {
  let wantDataLength = null;
  let wantDataAndClose = false;
  let pending = null;
  const receivedEvents = [];
  let receivedData = null;
  let problem = null;

  const settle = (value) => {
    const { resolve } = pending;
    pending = null;
    resolve(value);
  };
  // A problem fails the wait in progress, or the next one.
  const report = (error) => {
    if (pending) {
      const { reject } = pending;
      pending = null;
      wantDataLength = null;
      wantDataAndClose = false;
      reject(error);
    } else if (!problem) {
      problem = error;
    }
  };
  const checkTarget = (event) => {
    if (event.target !== socket) report(new Error(`${socketType}: ${event.type} event's target is not its socket`));
  };

  const handleGenericEvent = (event) => {
    checkTarget(event);
    if (pending && wantDataLength === null && !wantDataAndClose) {
      settle(event);
    } else {
      receivedEvents.push(event);
    }
  };

  socket.onopen = handleGenericEvent;
  socket.ondrain = handleGenericEvent;
  socket.onerror = handleGenericEvent;
  socket.onclose = (event) => {
    if (wantDataAndClose && pending) {
      checkTarget(event);
      wantDataAndClose = false;
      const data = receivedData;
      receivedData = null;
      settle(data);
    } else {
      handleGenericEvent(event);
    }
  };
  socket.ondata = (event) => {
    checkTarget(event);
    if (!(event.data instanceof ArrayBuffer)) {
      report(new Error(`${socketType}: payload is not an ArrayBuffer but ${Object.prototype.toString.call(event.data)}`));
      return;
    }
    const chunk = new Uint8Array(event.data);
    receivedData = receivedData === null ? chunk : concatUint8Arrays(receivedData, chunk);
    if (wantDataLength !== null && receivedData.length >= wantDataLength) {
      const data = receivedData;
      receivedData = null;
      wantDataLength = null;
      settle(data);
    }
  };

  const startWait = () => {
    if (pending) throw new Error(`${socketType}: only one wait allowed at a time`);
    if (problem) {
      const error = problem;
      problem = null;
      return Promise.reject(error);
    }
    return null;
  };

  return {
    /** The next non-data event (queued ones first). */
    waitForEvent() {
      const early = startWait();
      if (early) return early;
      if (receivedEvents.length) return Promise.resolve(receivedEvents.shift());
      return new Promise((resolve, reject) => { pending = { resolve, reject }; });
    },
    /** All data accumulated so far once there are at least `length` bytes. */
    waitForDataWithAtLeastLength(length) {
      const early = startWait();
      if (early) return early;
      if (receivedData && receivedData.length >= length) {
        const data = receivedData;
        receivedData = null;
        return Promise.resolve(data);
      }
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        wantDataLength = length;
      });
    },
    /** Whatever data arrives (possibly none) until the close event. */
    waitForAnyDataAndClose() {
      const early = startWait();
      if (early) return early;
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        receivedData = new Uint8Array(0);
        wantDataAndClose = true;
      });
    },
  };
}

/**
 * Resolves with { socket, queue } for the next accepted connection; the queue has to be hooked up
 * inside the connect event, before the accepted socket can see anything.
 */
function waitForConnection(listeningServer) {
  return new Promise((resolve) => {
    listeningServer.onconnect = (event) => {
      listeningServer.onconnect = () => {
        strayProblems.push(new Error('Received a connection when not expecting one.'));
      };
      live.sockets.add(event.socket);
      resolve({ socket: event.socket, queue: listenForEventsOnSocket(event.socket, 'server') });
    };
  });
}

// Runs the scenarios as subtests in order; once one fails or times out the rest are skipped,
// since each one starts from the state the previous one left.
function makeStepper(t) {
  let failed = null;
  return async function step(name, fn) {
    let done = false;
    await t.test(name, {
      timeout: STEP_TIMEOUT,
      skip: failed ? `an earlier step ("${failed}") failed` : false,
    }, async () => {
      await fn();
      if (strayProblems.length) throw strayProblems.splice(0)[0];
      done = true;
    });
    if (!done && !failed) failed = name;
  };
}

test('test_basics', { timeout: 14 * STEP_TIMEOUT }, async (t) => {
  t.after(closeEverything);
  const step = makeStepper(t);

  let listeningServer;
  let serverPort;
  let connectedPromise;
  let clientSocket;
  let clientQueue;
  let serverSocket;
  let serverQueue;
  let serverReceived;
  let clientReceived;

  const smallUint8Array = new Uint8Array(256);
  for (let i = 0; i < smallUint8Array.length; i++) smallUint8Array[i] = i;
  const bigUint8Array = new Uint8Array(BIG_LENGTH);
  for (let i = 0; i < bigUint8Array.length; i++) bigUint8Array[i] = i % 256;

  async function reconnect(binaryType) {
    connectedPromise = waitForConnection(listeningServer);
    clientSocket = createSocket('127.0.0.1', serverPort, { binaryType });
    clientQueue = listenForEventsOnSocket(clientSocket, 'client');
    assert.equal((await clientQueue.waitForEvent()).type, 'open', 'got open event');
    ({ socket: serverSocket, queue: serverQueue } = await connectedPromise);
  }

  await step('1. connect: the client opens and the server gets exactly one connect', async () => {
    // Port 0 where Mozilla used 8085 (bug 903830 kept it from learning an ephemeral port in e10s).
    listeningServer = createServer(0, { binaryType: 'arraybuffer' }, SERVER_BACKLOG);
    serverPort = listeningServer.localPort;
    assert.ok(serverPort > 0, `localPort is the port actually bound, got ${serverPort}`);
    // The era-B version of the test also required this never to fire.
    listeningServer.onerror = (event) => {
      strayProblems.push(new Error(`Received an error when not expecting one: ${event && event.name}`));
    };
    connectedPromise = waitForConnection(listeningServer);
    clientSocket = createSocket('127.0.0.1', serverPort, { binaryType: 'arraybuffer' });
    clientQueue = listenForEventsOnSocket(clientSocket, 'client');

    assert.equal((await clientQueue.waitForEvent()).type, 'open', 'got open event');
    assert.equal(clientSocket.readyState, 'open', 'client readyState is open');

    ({ socket: serverSocket, queue: serverQueue } = await connectedPromise);
    assert.equal(serverSocket.readyState, 'open', 'server readyState is open');
  });

  await step('2. small send from client to server', async () => {
    assert.equal(clientSocket.send(smallUint8Array.buffer, 0, smallUint8Array.length), true,
      'Client sending less than 64k, buffer should not be full.');
    serverReceived = await serverQueue.waitForDataWithAtLeastLength(256);
    assertUint8ArraysEqual(serverReceived, smallUint8Array, 'Server received/client sent');
  });

  await step('3. small send from server to client', async () => {
    assert.equal(serverSocket.send(smallUint8Array.buffer, 0, smallUint8Array.length), true,
      'Server sending less than 64k, buffer should not be full.');
    clientReceived = await clientQueue.waitForDataWithAtLeastLength(256);
    assertUint8ArraysEqual(clientReceived, smallUint8Array, 'Client received/server sent');
  });

  await step('4. sliced sends from client to server', async () => {
    assert.equal(clientSocket.send(smallUint8Array.buffer, 0, 7), true,
      'Client sending less than 64k, buffer should not be full.');
    assert.equal(clientSocket.send(smallUint8Array.buffer, 7, smallUint8Array.length - 7), true,
      'Client sending less than 64k, buffer should not be full.');
    serverReceived = await serverQueue.waitForDataWithAtLeastLength(256);
    assertUint8ArraysEqual(serverReceived, smallUint8Array, 'Server received/client sent');
  });

  await step('5. sliced sends from server to client', async () => {
    assert.equal(serverSocket.send(smallUint8Array.buffer, 0, 7), true,
      'Server sending less than 64k, buffer should not be full.');
    assert.equal(serverSocket.send(smallUint8Array.buffer, 7, smallUint8Array.length - 7), true,
      'Server sending less than 64k, buffer should not be full.');
    clientReceived = await clientQueue.waitForDataWithAtLeastLength(256);
    assertUint8ArraysEqual(clientReceived, smallUint8Array, 'Client received/server sent');
  });

  await step('6. big sends and drain, twice per direction', async () => {
    // Splitting the big array in two must trigger drain exactly like sending it whole: the
    // second call sends 3 bytes but counts the unclamped byteLength of 65539.
    const lengthOfChunk1 = 65536;
    assert.equal(clientSocket.send(bigUint8Array.buffer, 0, lengthOfChunk1), true,
      'Client sending chunk1 should not result in the buffer being full.');
    // Twice, so the drain machinery is seen to work after its first use.
    for (let iSend = 0; iSend < 2; iSend++) {
      const offset = iSend === 0 ? lengthOfChunk1 : 0;
      assert.equal(clientSocket.send(bigUint8Array.buffer, offset, bigUint8Array.length), false,
        'Client sending more than 64k should result in the buffer being full.');
      assert.equal((await clientQueue.waitForEvent()).type, 'drain',
        'The drain event should fire after a large send that indicated full.');
      serverReceived = await serverQueue.waitForDataWithAtLeastLength(bigUint8Array.length);
      assertUint8ArraysEqual(serverReceived, bigUint8Array, 'server received/client sent');

      if (iSend === 0) {
        assert.equal(serverSocket.send(bigUint8Array.buffer, 0, lengthOfChunk1), true,
          'Server sending chunk1 should not result in the buffer being full.');
      }
      assert.equal(serverSocket.send(bigUint8Array.buffer, offset, bigUint8Array.length), false,
        'Server sending more than 64k should result in the buffer being full.');
      assert.equal((await serverQueue.waitForEvent()).type, 'drain',
        'The drain event should fire after a large send that indicated full.');
      clientReceived = await clientQueue.waitForDataWithAtLeastLength(bigUint8Array.length);
      assertUint8ArraysEqual(clientReceived, bigUint8Array, 'client received/server sent');
    }
  });

  await step('7. server-side close', async () => {
    serverSocket.close();
    assert.equal(serverSocket.readyState, 'closing',
      'readyState should be closing immediately after calling close');
    assert.equal((await clientQueue.waitForEvent()).type, 'close',
      'The client should get a close event when the server closes.');
    assert.equal(clientSocket.readyState, 'closed', 'client readyState should be closed after close event');
    assert.equal((await serverQueue.waitForEvent()).type, 'close',
      'The server should get a close event when it closes itself.');
    assert.equal(serverSocket.readyState, 'closed', 'server readyState should be closed after close event');
  });

  await step('8. client-side close', async () => {
    await reconnect('arraybuffer');
    clientSocket.close();
    assert.equal(clientSocket.readyState, 'closing',
      'client readyState should be closing immediately after calling close');
    assert.equal((await clientQueue.waitForEvent()).type, 'close',
      'The client should get a close event when it closes itself.');
    assert.equal(clientSocket.readyState, 'closed',
      'client readyState should be closed after the close event is received');
    assert.equal((await serverQueue.waitForEvent()).type, 'close',
      'The server should get a close event when the client closes.');
    assert.equal(serverSocket.readyState, 'closed',
      'server readyState should be closed after the close event is received');
  });

  await step('9. close after enqueueing a lot of data', async () => {
    await reconnect('arraybuffer');
    assert.equal(clientSocket.send(bigUint8Array.buffer, 0, bigUint8Array.length), false,
      'Client sending more than 64k should result in the buffer being full.');
    clientSocket.close();
    assert.equal((await clientQueue.waitForEvent()).type, 'drain',
      'The drain event should still fire after close.');
    assert.equal((await clientQueue.waitForEvent()).type, 'close',
      'The close event should fire after the drain event.');
    serverReceived = await serverQueue.waitForDataWithAtLeastLength(bigUint8Array.length);
    assertUint8ArraysEqual(serverReceived, bigUint8Array, 'server received/client sent');
    assert.equal((await serverQueue.waitForEvent()).type, 'close',
      'The server should get a close event after the data.');
  });

  await step('10. non-string data on a string socket (bug 1121938)', async () => {
    await reconnect('string');
    // Restore Object.prototype.toString so the typed array converts to "[object Uint8Array]":
    // anything but an ArrayBuffer goes through the ByteString overload, whatever the binaryType,
    // so only that short string may go out, never 64 KiB of binary.
    bigUint8Array.toString = Object.prototype.toString;
    const byteString = '[object Uint8Array]';
    assert.equal(clientSocket.send(bigUint8Array), true,
      'Client sending a large non-string should only send a small string.');
    clientSocket.close();
    serverReceived = await serverQueue.waitForDataWithAtLeastLength(byteString.length);
    assertUint8ArraysEqual(serverReceived, new Uint8Array(Buffer.from(byteString, 'latin1')),
      'server received/client sent');
    assert.equal((await clientQueue.waitForEvent()).type, 'close',
      'The client should get a close event after closing.');
  });

  await step('11. closeImmediately', async () => {
    await reconnect('arraybuffer');
    // The reference queued everything in its own buffer, so two big sends were still pending
    // when closeImmediately() ran. Ours writes straight to the kernel, which would take both at
    // once on loopback; with the server suspended the kernel fills and the sends really queue.
    serverSocket.suspend();
    let filled = 0;
    for (let i = 0; i < 1024 && clientSocket.bufferedAmount === 0; i++) {
      // 65536 bytes on an empty queue never count as full.
      assert.equal(clientSocket.send(bigUint8Array.buffer, 0, 65536), true);
      filled += 65536;
    }
    assert.ok(clientSocket.bufferedAmount > 0, `the kernel took all ${filled} bytes without queueing any`);

    assert.equal(clientSocket.send(bigUint8Array.buffer, 0, bigUint8Array.length), false,
      'Client sending more than 64k should result in the buffer being full.');
    assert.equal(clientSocket.send(bigUint8Array.buffer, 0, bigUint8Array.length), false,
      'Client sending more than 64k should result in the buffer being full.');
    clientSocket.closeImmediately();
    serverSocket.resume();

    serverReceived = await serverQueue.waitForAnyDataAndClose();
    const sent = filled + 2 * bigUint8Array.length;
    assert.ok(serverReceived.length < sent,
      `Received array length less than sent array length (${serverReceived.length} of ${sent})`);
    // What did arrive is a prefix of what was sent: the fill, then big, then big again.
    for (let i = 0; i < serverReceived.length; i++) {
      let position = i;
      if (position >= filled) position -= filled;
      if (i >= filled + bigUint8Array.length) position -= bigUint8Array.length;
      if (serverReceived[i] !== position % 256) {
        assert.fail(`byte ${i} of the received stream is ${serverReceived[i]}, sent ${position % 256}`);
      }
    }
  });

  await step('12. close the listening server, then fail to connect to it', async () => {
    // Verifies the server really stops listening when told to.
    listeningServer.close();
    clientSocket = createSocket('127.0.0.1', serverPort, { binaryType: 'arraybuffer' });
    clientQueue = listenForEventsOnSocket(clientSocket, 'client');
    assert.equal((await clientQueue.waitForEvent()).type, 'error', 'fail to connect');
    assert.equal(clientSocket.readyState, 'closed',
      'client readyState should be closed after the failure to connect');
    // Exactly one close follows every error.
    assert.equal((await clientQueue.waitForEvent()).type, 'close');
  });
});

function hasIpv6Loopback() {
  return Object.values(os.networkInterfaces()).some((addresses) =>
    (addresses || []).some((a) => a.address === '::1'));
}

test('test_ipv6', { timeout: STEP_TIMEOUT }, async (t) => {
  if (!hasIpv6Loopback()) {
    t.skip('this machine has no ::1 loopback address');
    return;
  }
  t.after(closeEverything);
  // Mozilla's peer was its httpd on ::1; any listener on ::1 will do.
  const peer = net.createServer((connection) => {
    live.netConnections.add(connection);
    connection.on('error', () => {});
  });
  live.netServers.add(peer);
  await new Promise((resolve, reject) => {
    peer.once('error', reject);
    peer.listen(0, '::1', resolve);
  });

  const clientSocket = createSocket('::1', peer.address().port);
  assert.equal(clientSocket.host, '::1');
  const outcome = await new Promise((resolve) => {
    clientSocket.onopen = () => resolve({ type: 'open' });
    clientSocket.onerror = (event) => resolve({ type: 'error', name: event.name, message: event.message });
  });
  assert.deepEqual(outcome, { type: 'open' }, 'Connect to ipv6 address succeeded');

  const closed = new Promise((resolve) => { clientSocket.onclose = resolve; });
  clientSocket.close();
  await closed;
});
