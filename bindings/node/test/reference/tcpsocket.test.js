'use strict';
// Port of Mozilla's dom/network/tests/unit/test_tcpsocket.js (xpcshell) to node:test.
// Only the client is ours: the peer is a plain Node `net` server standing in for the original's
// raw nsIServerSocket, so nothing of our server side is under test here.
//
// The original is a chain of add_test() steps sharing one server and one client, each step
// setting the handlers it expects and turning every other event into a failure. Each chain that
// starts with connectSock is one test here, its steps subtests with the original names.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const { TCPSocket } = require('../..');
const {
  fail, check, runTestStep, stepFinisher, makeSuccessCase, makeJointSuccess, makeFailureCase,
  makeExpectData, abandonStep, takePendingFailures,
} = require('../support/xpcshell_steps');

const STEP_TIMEOUT = 20000;

// Binary data with NULs and 0xFF, which string-based implementations used to mangle.
const DATA_ARRAY = [0, 255, 254, 0, 1, 2, 3, 0, 255, 255, 254, 0];
const DATA_ARRAY_BUFFER = new Uint8Array(DATA_ARRAY).buffer;

function randomTypedArray(length) {
  const array = new Uint8Array(length);
  crypto.randomFillSync(array);
  return array;
}
const BIG_TYPED_ARRAY = randomTypedArray(65539);
const BIG_TYPED_ARRAY_2 = randomTypedArray(65539);
const BIG_ARRAY_BUFFER = BIG_TYPED_ARRAY.buffer;
const BIG_ARRAY_BUFFER_2 = BIG_TYPED_ARRAY_2.buffer;
const MEDIUM_TYPED_ARRAY = randomTypedArray(22000);
const MEDIUM_ARRAY_BUFFER = MEDIUM_TYPED_ARRAY.buffer;

/**
 * The raw peer: a listening socket with at most one live accepted connection, whose events go to
 * the onconnect/ondata/onclose properties (a missing handler is a failure).
 */
class TestServer {
  constructor() {
    this.connection = null;
    this.onconnect = null;
    this.ondata = null;
    this.onclose = null;
    this.listener = net.createServer((connection) => this.onSocketAccepted(connection));
  }

  listen() {
    return new Promise((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(0, '127.0.0.1', () => resolve(this.listener.address().port));
    });
  }

  get port() {
    return this.listener.address().port;
  }

  onSocketAccepted(connection) {
    if (this.connection) fail(new Error('More than one live connection!?'));
    this.connection = connection;
    // Connections of earlier chains are forgotten by reset(); their late events are not ours.
    const current = () => this.connection === connection;
    connection.on('data', (data) => {
      if (!current()) return;
      if (this.ondata) this.ondata(data);
      else fail(new Error(`Received ${data.length} bytes of unexpected data!`));
    });
    connection.on('error', (error) => {
      if (current()) fail(new Error(`server connection error: ${error.code || error.message}`));
    });
    connection.on('close', () => {
      if (!current()) return;
      if (this.onclose) this.onclose();
      else fail(new Error('Received unexpected close!'));
    });
    if (this.onconnect) this.onconnect();
    else fail(new Error('Received unexpected connection!'));
  }

  write(bytes) {
    this.connection.write(Buffer.from(bytes));
  }

  // Mozilla closed both streams; a FIN that waits for the client's own is the same on the wire.
  close() {
    this.connection.end();
  }

  pause() {
    this.connection.pause();
  }

  resume() {
    this.connection.resume();
  }

  /** Forget about the connection we knew about before. */
  reset() {
    const old = this.connection;
    this.connection = null;
    return old;
  }

  shutdown() {
    const old = this.reset();
    if (old) old.destroy();
    this.listener.close();
  }
}

let server = null;
let sock = null;
const allSockets = new Set();
// A port nothing listens on, found just before badConnect runs.
let deadPort = 0;

function open(host, port, options) {
  const socket = new TCPSocket(host, port, options);
  allSockets.add(socket);
  return socket;
}

before(async () => {
  server = new TestServer();
  await server.listen();
});

after(() => {
  for (const socket of allSockets) {
    for (const type of ['open', 'data', 'drain', 'error', 'close']) socket['on' + type] = null;
    try {
      if (socket.readyState !== 'closed') socket.closeImmediately();
    } catch (e) {
      // Keep closing the rest; the steps have reported what matters.
    }
  }
  if (server) server.shutdown();
});

// One chain: its steps run in order, a failed or timed-out step skips the rest, and whatever the
// chain left open is closed at its end.
function chain(title, steps) {
  test(title, { timeout: (steps.length + 1) * STEP_TIMEOUT }, async (t) => {
    t.after(() => {
      abandonStep();
      if (sock) {
        for (const type of ['open', 'data', 'drain', 'error', 'close']) sock['on' + type] = null;
        try {
          if (sock.readyState !== 'closed') sock.closeImmediately();
        } catch (e) {
          // see the file-level after()
        }
      }
      const old = server.reset();
      if (old) old.destroy();
    });
    let failed = null;
    for (const fn of steps) {
      let done = false;
      await t.test(fn.name, {
        timeout: STEP_TIMEOUT,
        skip: failed ? `an earlier step ("${failed}") failed` : false,
      }, async () => {
        await runTestStep(fn);
        done = true;
      });
      if (!done && !failed) failed = fn.name;
    }
    // A failure that fired after the last step finished still belongs to this chain.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(takePendingFailures().map(String), [], 'failures after the last step');
  });
}

/*
 * The steps, named as in the original.
 */

/** Connect the client to the raw server; the first step of every chain. */
function connectSock() {
  server.reset();
  const yayFuncs = makeJointSuccess(['serveropen', 'clientopen']);

  sock = open('127.0.0.1', server.port, { binaryType: 'arraybuffer' });

  sock.onopen = yayFuncs.clientopen;
  sock.ondrain = null;
  sock.ondata = makeFailureCase('data');
  sock.onerror = makeFailureCase('error');
  sock.onclose = makeFailureCase('close');

  server.onconnect = yayFuncs.serveropen;
  server.ondata = makeFailureCase('serverdata');
  server.onclose = makeFailureCase('serverclose');
}

/** A small send arrives intact and is not reported as buffered. */
function sendData() {
  server.ondata = makeExpectData('serverdata', DATA_ARRAY);
  if (!sock.send(DATA_ARRAY_BUFFER)) {
    fail(new Error('send should not have buffered such a small amount of data'));
  }
}

/** A large send reports buffering (false), arrives whole, and drain follows with nothing left. */
function sendBig() {
  const yays = makeJointSuccess(['serverdata', 'clientdrain']);
  const chunks = [];
  let amount = 0;

  server.ondata = (data) => {
    chunks.push(data);
    amount += data.length;
    if (amount === BIG_TYPED_ARRAY.length) {
      check(Buffer.concat(chunks).equals(Buffer.from(BIG_TYPED_ARRAY)), 'server received other bytes than sent');
      yays.serverdata();
    }
  };
  sock.ondrain = (evt) => {
    if (sock.bufferedAmount) {
      fail(new Error(`sock.bufferedAmount was ${sock.bufferedAmount} > 0 in ondrain`));
    }
    yays.clientdrain(evt);
  };
  if (sock.send(BIG_ARRAY_BUFFER)) {
    fail(new Error('expected sock.send to return false on large buffer send'));
  }
}

/** Data written by the server arrives in the client's data events, as ArrayBuffers. */
function receiveData() {
  server.ondata = makeFailureCase('serverdata');
  sock.ondata = makeExpectData('data', DATA_ARRAY, true);

  server.write(DATA_ARRAY);
}

/** When the server closes, the client gets close. */
function serverCloses() {
  // The server's own close only matters for sequencing.
  const yayFuncs = makeJointSuccess(['clientclose', 'serverclose']);
  sock.ondata = makeFailureCase('data');
  sock.onclose = yayFuncs.clientclose;
  server.onclose = yayFuncs.serverclose;

  server.close();
}

/** When the client closes, the server sees the end of the stream and the client gets close. */
function clientCloses() {
  const yayFuncs = makeJointSuccess(['clientclose', 'serverclose']);
  server.onclose = yayFuncs.serverclose;
  sock.onclose = yayFuncs.clientclose;

  sock.close();
}

/** A large send followed at once by close(): every byte still arrives before the end. */
function bufferedClose() {
  const yays = makeJointSuccess(['serverdata', 'clientclose', 'serverclose']);
  server.ondata = makeExpectData('ondata', BIG_TYPED_ARRAY, false, yays.serverdata);
  server.onclose = yays.serverclose;
  sock.onclose = yays.clientclose;
  sock.send(BIG_ARRAY_BUFFER);
  sock.close();
}

/** Connecting to a port nobody listens on gives error (ConnectionRefusedError), then close. */
function badConnect() {
  // Mozilla used port 2, hoping nothing listened there; a port just released is surer.
  const port = deadPort;
  sock = open('127.0.0.1', port);

  sock.onopen = makeFailureCase('open');
  sock.ondata = makeFailureCase('data');

  const success = makeSuccessCase('error');
  let gotError = false;
  sock.onerror = (event) => {
    check(event.data && event.data.name === 'ConnectionRefusedError',
      `expected event.data.name ConnectionRefusedError, got ${event.data && event.data.name}`);
    check(event.name === 'ConnectionRefusedError', `expected event.name ConnectionRefusedError, got ${event.name}`);
    gotError = true;
  };
  sock.onclose = () => {
    if (!gotError) fail(new Error('got close without error!'));
    else success();
  };
}

/** A buffering send gets a drain, and a second buffering send gets a second one. */
function drainTwice() {
  const yays = makeJointSuccess(['ondrain', 'ondrain2', 'ondata', 'ondata2', 'serverclose', 'clientclose']);
  let ondrainCalled = false;
  let ondataCalled = false;

  // The second send waits until the server has the first buffer and the client its drain.
  function maybeSendNextData() {
    if (!ondrainCalled || !ondataCalled) return;

    server.ondata = makeExpectData('ondata2', BIG_TYPED_ARRAY_2, false, yays.ondata2);
    sock.ondrain = yays.ondrain2;

    if (sock.send(BIG_ARRAY_BUFFER_2)) {
      fail(new Error('sock.send(BIG_TYPED_ARRAY_2) did not return false to indicate buffering'));
    }
    sock.close();
  }

  function clientOndrain() {
    yays.ondrain();
    ondrainCalled = true;
    maybeSendNextData();
  }

  function serverSideCallback() {
    yays.ondata();
    ondataCalled = true;
    maybeSendNextData();
  }

  server.onclose = yays.serverclose;
  server.ondata = makeExpectData('ondata', BIG_TYPED_ARRAY, false, serverSideCallback);

  sock.onclose = yays.clientclose;
  sock.ondrain = clientOndrain;

  if (sock.send(BIG_ARRAY_BUFFER)) {
    fail(new Error('sock.send(BIG_TYPED_ARRAY) did not return false to indicate buffering'));
  }
}

/** Two buffering sends in a row, without waiting for drain, still get at least one drain. */
function bufferTwice() {
  const yays = makeJointSuccess(['ondata', 'ondrain', 'serverclose', 'clientclose']);

  const doubleArray = Buffer.concat([BIG_TYPED_ARRAY, BIG_TYPED_ARRAY_2]);
  server.ondata = makeExpectData('ondata', doubleArray, false, yays.ondata);

  server.onclose = yays.serverclose;
  sock.onclose = yays.clientclose;

  sock.ondrain = () => {
    sock.close();
    yays.ondrain();
  };

  if (sock.send(BIG_ARRAY_BUFFER)) {
    fail(new Error('sock.send(BIG_TYPED_ARRAY) did not return false to indicate buffering'));
  }
  if (sock.send(BIG_ARRAY_BUFFER_2)) {
    fail(new Error('sock.send(BIG_TYPED_ARRAY_2) did not return false to indicate buffering on second synchronous call to send'));
  }
}

/**
 * Sending in a loop: each successful send raises bufferedAmount by its length, send turns false
 * once the total passes 64 KiB, and drain sees 0.
 *
 * The reference counted bytes already handed to its copier thread, so the first MEDIUM send showed
 * up in bufferedAmount at once. Ours writes straight to the kernel and counts only what the kernel
 * refused (the reading the reference recommends), so the kernel is filled first, with the peer not
 * reading, to make the queue observable; the loop is then checked exactly from that base.
 */
function continueSend() {
  const yays = makeJointSuccess(['serverclose', 'clientclose']);
  server.pause();

  const fill = randomTypedArray(65536);
  let expectedTotal = 0;
  for (let i = 0; i < 1024 && sock.bufferedAmount === 0; i++) {
    // 65536 bytes on an empty queue never count as full.
    check(sock.send(fill.buffer) === true, 'a 65536-byte send on an empty queue returned false');
    expectedTotal += fill.length;
  }
  const base = sock.bufferedAmount;
  check(base > 0, `the kernel took all ${expectedTotal} bytes without queueing any`);

  const dataLength = MEDIUM_TYPED_ARRAY.length;
  let looped = 0;
  while (looped < 8 && sock.send(MEDIUM_ARRAY_BUFFER)) {
    looped++;
    expectedTotal += dataLength;
    check(sock.bufferedAmount === base + dataLength * looped,
      `bufferedAmount ${sock.bufferedAmount} after ${looped} sends, expected ${base + dataLength * looped}`);
  }
  const trues = looped;
  looped++;
  expectedTotal += dataLength;
  check(sock.bufferedAmount === base + dataLength * looped,
    `bufferedAmount ${sock.bufferedAmount} after the false send, expected ${base + dataLength * looped}`);
  check(trues === Math.floor((65536 - base) / dataLength),
    `send returned true ${trues} times on top of ${base} queued bytes`);

  sock.ondrain = () => {
    check(sock.bufferedAmount === 0, `bufferedAmount ${sock.bufferedAmount} in ondrain`);
    sock.close();
  };

  let received = 0;
  server.ondata = (data) => {
    received += data.length;
  };

  sock.onclose = yays.clientclose;
  server.onclose = () => {
    check(received === expectedTotal, `server received ${received} bytes of ${expectedTotal}`);
    yays.serverclose();
  };
  server.resume();
}

/** Close what is left; a no-op on a socket that is already closed. */
function cleanup() {
  sock.close();
  stepFinisher()();
}

// - connect, data and events work both ways; the server closes on us
chain('connectSock, sendData, sendBig, receiveData, serverCloses',
  [connectSock, sendData, sendBig, receiveData, serverCloses]);

// - connect, we close on the server
chain('connectSock, clientCloses', [connectSock, clientCloses]);

// - connect, buffer, close
chain('connectSock, bufferedClose', [connectSock, bufferedClose]);

// - an error on an attempt to connect to a non-listening port
test('badConnect', { timeout: STEP_TIMEOUT * 2 }, async (t) => {
  const probe = net.createServer();
  await new Promise((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  deadPort = probe.address().port;
  await new Promise((resolve) => probe.close(resolve));
  await t.test('badConnect', { timeout: STEP_TIMEOUT }, () => runTestStep(badConnect));
});

// - send a buffer, get a drain, send a buffer, get a drain
chain('connectSock, drainTwice', [connectSock, drainTwice]);

// - two buffers at once, at least one drain
chain('connectSock, bufferTwice', [connectSock, bufferTwice]);

// - send a buffer many times, observe bufferedAmount increase
chain('connectSock, continueSend', [connectSock, continueSend]);

// - clean up
chain('cleanup', [cleanup]);

// Not ported: childnotbuffered and childbuffered, the IPC-only steps of the final version. They
// inject updateBufferedAmount(amount, trackingNumber) into a content-process socket to imitate the
// parent process's late buffer reports. Our engine has no parent/child split: the socket that
// counts bufferedAmount is the one writing to the kernel, so there is no report to inject and no
// tracking number to go stale. (The rules they guard, one drain per episode and the 64 KiB
// threshold on the queued total, are checked above by sendBig, drainTwice and continueSend.)
