'use strict';
// Port of Mozilla's dom/network/tests/unit/test_tcpserversocket.js (xpcshell) to node:test.
// Both ends are ours, reached through mozTCPSocket.listen()/open() as the original did through
// its TCPSocket component. The original is one chain of add_test() steps; here it is one test
// whose subtests carry the original step names, in the original order.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { mozTCPSocket, TCPSocket, TCPServerSocket } = require('../..');
const {
  fail, runTestStep, run_next_test, makeSuccessCase, makeJointSuccess, makeFailureCase,
  makeExpectData, abandonStep, takePendingFailures,
} = require('../support/xpcshell_steps');

const STEP_TIMEOUT = 20000;

// Mozilla listened on 8085 (bug 903830: no way to learn an ephemeral port in e10s). We take an
// ephemeral port the first time and then re-listen on that same number, which is what the second
// connectSock checks: a port can be listened on again right after close().
let PORT = 0;
const BACKLOG = -1;

const DATA_ARRAY = [0, 255, 254, 0, 1, 2, 3, 0, 255, 255, 254, 0];
const DATA_ARRAY_BUFFER = new Uint8Array(DATA_ARRAY).buffer;

let server = null;
let sock = null;
let connectedsock = null;
// The original leaves earlier sockets to the garbage collector; ours stay open until closed.
const everything = new Set();

/*
 * The steps, named as in the original.
 */

/** (Re-)listen on PORT and connect a client; both the accepted socket and the client open. */
function connectSock() {
  if (server) server.close();

  const yayFuncs = makeJointSuccess(['serveropen', 'clientopen']);
  const options = { binaryType: 'arraybuffer', localAddress: '127.0.0.1' };

  server = mozTCPSocket.listen(PORT, options, BACKLOG);
  everything.add(server);
  if (!(server instanceof TCPServerSocket)) fail(new Error('listen() did not return a TCPServerSocket'));
  if (PORT === 0) {
    PORT = server.localPort;
  } else if (server.localPort !== PORT) {
    fail(new Error(`re-listened on ${server.localPort}, not on ${PORT}`));
  }
  server.onconnect = (event) => {
    const socket = event.socket;
    everything.add(socket);
    // Bug 937528: accepted sockets had an uninitialized host and port.
    if (socket.host !== '127.0.0.1') {
      fail(new Error(`got unexpected: connected socket host should be 127.0.0.1 but not ${socket.host}`));
    }
    connectedsock = socket;
    connectedsock.ondata = makeFailureCase('serverdata');
    connectedsock.onerror = makeFailureCase('servererror');
    connectedsock.onclose = makeFailureCase('serverclose');
    yayFuncs.serveropen();
  };
  server.onerror = makeFailureCase('error');
  sock = mozTCPSocket.open('127.0.0.1', PORT, { binaryType: 'arraybuffer' });
  everything.add(sock);
  if (!(sock instanceof TCPSocket)) fail(new Error('open() did not return a TCPSocket'));
  sock.onopen = yayFuncs.clientopen;
  sock.ondrain = null;
  sock.ondata = makeFailureCase('data');
  sock.onerror = makeFailureCase('error');
  sock.onclose = makeFailureCase('close');
}

/** A client to a closed server gets error, never open. */
function openSockInClosingServer() {
  const success = makeSuccessCase('clientnotopen');
  const options = { binaryType: 'arraybuffer' };

  sock = mozTCPSocket.open('127.0.0.1', PORT, options);
  everything.add(sock);

  sock.onopen = makeFailureCase('open');
  sock.onerror = success;
}

/** A small send from the client reaches the accepted socket and is not reported as buffered. */
function sendDataToServer() {
  connectedsock.ondata = makeExpectData('serverdata', DATA_ARRAY, true);
  if (!sock.send(DATA_ARRAY_BUFFER)) {
    fail(new Error('send should not have buffered such a small amount of data'));
  }
}

/** A send from the accepted socket reaches the client. */
function receiveDataFromServer() {
  connectedsock.ondata = makeFailureCase('serverdata');
  sock.ondata = makeExpectData('data', DATA_ARRAY, true);

  connectedsock.send(DATA_ARRAY_BUFFER);
}

/** Closing the listening server leaves the connection it accepted alone: no close on either end. */
function serverCloses() {
  sock.ondata = makeFailureCase('data');
  sock.onclose = makeFailureCase('close1');
  connectedsock.onclose = makeFailureCase('close2');

  server.close();
  run_next_test();
}

function cleanup() {
  sock.onclose = null;
  connectedsock.onclose = null;

  server.close();
  sock.close();
  run_next_test();
}

const STEPS = [
  // - connect, data and events work both ways
  ['connectSock', connectSock],
  ['sendDataToServer', sendDataToServer],
  ['receiveDataFromServer', receiveDataFromServer],
  // - server closes on us
  ['serverCloses', serverCloses],
  // - send and receive after closing server
  ['sendDataToServer (after the server closed)', sendDataToServer],
  ['receiveDataFromServer (after the server closed)', receiveDataFromServer],
  // - closing an already closed server again changes nothing
  ['serverCloses (again)', serverCloses],
  // - a connection from client to server is refused after closing the server
  ['openSockInClosingServer', openSockInClosingServer],
  ['cleanup', cleanup],
  // - listen again on the same port; receive and send in reverse order
  ['connectSock (same port again)', connectSock],
  ['receiveDataFromServer (before sending)', receiveDataFromServer],
  ['sendDataToServer (after receiving)', sendDataToServer],
  ['cleanup (again)', cleanup],
];

test('test_tcpserversocket.js', { timeout: (STEPS.length + 1) * STEP_TIMEOUT }, async (t) => {
  t.after(() => {
    abandonStep();
    for (const item of everything) {
      if (item instanceof TCPServerSocket) {
        item.onconnect = null;
        item.onerror = null;
        try { item.close(); } catch (e) { /* keep closing the rest */ }
        continue;
      }
      for (const type of ['open', 'data', 'drain', 'error', 'close']) item['on' + type] = null;
      try {
        if (item.readyState !== 'closed') item.closeImmediately();
      } catch (e) {
        // keep closing the rest; the steps reported what matters
      }
    }
  });

  let failed = null;
  for (const [name, fn] of STEPS) {
    let done = false;
    await t.test(name, {
      timeout: STEP_TIMEOUT,
      skip: failed ? `an earlier step ("${failed}") failed` : false,
    }, async () => {
      await runTestStep(fn);
      done = true;
    });
    if (!done && !failed) failed = name;
  }
  // A failure handler that fired after the last step (a stray close, say) still fails the test.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(takePendingFailures().map(String), [], 'failures after the last step');
});
