'use strict';
// Bad input from JavaScript throws a named exception and never takes the process down; calls in
// the wrong readyState behave as the reference says (§ numbers are those of docs/reference.md,
// the Mozilla TCP Socket reference the project follows: send §3.1, close §4.2, suspend/resume §4.1,
// upgradeToSecure §4.3, exceptions §6.2); a handler that throws is reported as Node reports any
// uncaught exception and leaves its socket working.
//
// Exception names: TypeError wherever WebIDL rejects an argument (a missing one, a non-member of
// an enum, a Symbol where a string is wanted, a code unit above 0xFF in a ByteString). Where the
// reference threw a bare NS_ERROR_FAILURE for a call in the wrong readyState, the project names it
// InvalidStateError. The project also refuses port numbers that are not integers in 0..65535
// instead of wrapping them as an unsigned short would. Everything else follows the reference's
// IDL: send() turns any argument but an ArrayBuffer into a ByteString, and byteOffset/byteLength
// are unsigned longs, converted modulo 2^32 and then clamped to the buffer, never refused.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { TCPSocket, TCPServerSocket, mozTCPSocket } = require('..');

const BINDING = path.join(__dirname, '..');
const EVENT_TYPES = ['open', 'data', 'drain', 'error', 'close'];
const TIMEOUT = 20000;
const LOOPBACK = { localAddress: '127.0.0.1' };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function dispose(made) {
  try {
    if (made instanceof TCPServerSocket) made.close();
    else if (made && typeof made.closeImmediately === 'function' && made.readyState !== 'closed') made.closeImmediately();
  } catch (e) {
    // Disposal of something that should not exist; the assertion already failed.
  }
}

/**
 * `fn` must throw an exception named `name`. Should it instead create a socket or a server, that
 * is closed again so a failing assertion cannot leave the process running.
 */
function expectThrows(fn, name, what) {
  let made = null;
  try {
    assert.throws(() => { made = fn(); }, (error) => {
      assert.equal(error && error.name, name,
        `${what}: expected ${name}, got ${error && error.name}: ${error && error.message}`);
      return true;
    }, `${what} did not throw ${name}`);
  } finally {
    if (made) dispose(made);
  }
}

/** A raw Node peer on loopback that records what each connection receives. */
async function startPeer(t) {
  const connections = [];
  const connectionWaiters = [];
  const server = net.createServer((connection) => {
    connection.on('error', () => {});
    const entry = {
      connection,
      received: Buffer.alloc(0),
      ended: false,
      waiters: [],
      /** Resolves once at least `length` bytes have arrived. */
      waitForBytes(length) {
        if (entry.received.length >= length) return Promise.resolve(entry.received);
        return new Promise((resolve) => entry.waiters.push({ length, resolve }));
      },
    };
    connection.on('data', (data) => {
      entry.received = Buffer.concat([entry.received, data]);
      entry.waiters = entry.waiters.filter((w) => {
        if (entry.received.length < w.length) return true;
        w.resolve(entry.received);
        return false;
      });
    });
    connection.on('end', () => { entry.ended = true; });
    connections.push(entry);
    const waiter = connectionWaiters.shift();
    if (waiter) waiter(entry);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  t.after(() => {
    for (const { connection } of connections) connection.destroy();
    server.close();
  });
  return {
    port: server.address().port,
    nextConnection() {
      return new Promise((resolve) => connectionWaiters.push(resolve));
    },
  };
}

/** Records every event of `socket` (through addEventListener, leaving the on* handlers free). */
function record(socket) {
  const events = [];
  const seen = new Map(); // type -> the events of that type, in order
  let waiters = [];
  for (const type of EVENT_TYPES) {
    seen.set(type, []);
    socket.addEventListener(type, (event) => {
      events.push(type === 'error' ? `error:${event.name}` : type);
      seen.get(type).push(event);
      waiters = waiters.filter((w) => {
        if (w.type !== type || seen.get(type).length < w.count) return true;
        w.resolve(event);
        return false;
      });
    });
  }
  return {
    events,
    /** Resolves with the `count`th event of `type`, at once if it has already happened. */
    waitFor(type, count = 1) {
      const sofar = seen.get(type);
      if (sofar.length >= count) return Promise.resolve(sofar[count - 1]);
      return new Promise((resolve) => waiters.push({ type, count, resolve }));
    },
  };
}

function track(t, socket) {
  t.after(() => dispose(socket));
  return socket;
}

/** An open client socket with its accepted peer connection. */
async function openSocket(t, options) {
  const peer = await startPeer(t);
  const connected = peer.nextConnection();
  const socket = track(t, new TCPSocket('127.0.0.1', peer.port, options));
  const recorder = record(socket);
  const first = await Promise.race([recorder.waitFor('open'), recorder.waitFor('error')]);
  assert.equal(first.type, 'open', `the socket did not open: ${first.name}`);
  return { socket, recorder, remote: await connected };
}

/** A socket that has opened and closed, its close event seen. */
async function closedSocket(t) {
  const opened = await openSocket(t);
  opened.socket.close();
  await opened.recorder.waitFor('close');
  assert.equal(opened.socket.readyState, 'closed');
  return opened;
}

test('TCPSocket constructor: missing arguments throw TypeError', () => {
  expectThrows(() => new TCPSocket(), 'TypeError', 'new TCPSocket()');
  expectThrows(() => new TCPSocket('127.0.0.1'), 'TypeError', "new TCPSocket('127.0.0.1')");
});

test('TCPSocket constructor: wrong types and out-of-range ports throw TypeError', () => {
  expectThrows(() => new TCPSocket(5, 'x'), 'TypeError', "new TCPSocket(5, 'x')");
  for (const port of [70000, 65536, -1, 1.5, NaN, Infinity, 'x', {}, undefined]) {
    expectThrows(() => new TCPSocket('127.0.0.1', port), 'TypeError', `new TCPSocket('127.0.0.1', ${String(port)})`);
  }
});

test('TCPSocket constructor: bad options throw TypeError', () => {
  // An enum value that is not one of the members is a TypeError in WebIDL; so is a dictionary
  // argument that is not an object.
  expectThrows(() => new TCPSocket('127.0.0.1', 9, { binaryType: 'blob' }), 'TypeError', "binaryType 'blob'");
  expectThrows(() => new TCPSocket('127.0.0.1', 9, { binaryType: 'ArrayBuffer' }), 'TypeError', "binaryType 'ArrayBuffer'");
  expectThrows(() => new TCPSocket('127.0.0.1', 9, 5), 'TypeError', 'options 5');
  expectThrows(() => new TCPSocket('127.0.0.1', 9, 'arraybuffer'), 'TypeError', "options 'arraybuffer'");
});

test('constructors called without new throw TypeError', () => {
  expectThrows(() => TCPSocket('127.0.0.1', 9), 'TypeError', 'TCPSocket() without new');
  expectThrows(() => TCPServerSocket(0, LOOPBACK), 'TypeError', 'TCPServerSocket() without new');
});

test('TCPServerSocket constructor: bad ports and options throw TypeError', () => {
  expectThrows(() => new TCPServerSocket(), 'TypeError', 'new TCPServerSocket()');
  for (const port of [-1, 65536, 'x', 1.5, NaN]) {
    expectThrows(() => new TCPServerSocket(port, LOOPBACK), 'TypeError', `new TCPServerSocket(${String(port)})`);
  }
  expectThrows(() => new TCPServerSocket(0, { ...LOOPBACK, binaryType: 'blob' }), 'TypeError', "server binaryType 'blob'");
  expectThrows(() => new TCPServerSocket(0, 5), 'TypeError', 'server options 5');
});

test('mozTCPSocket.open/listen validate like the constructors they stand for', () => {
  expectThrows(() => mozTCPSocket.open(), 'TypeError', 'mozTCPSocket.open()');
  expectThrows(() => mozTCPSocket.open('127.0.0.1', 70000), 'TypeError', 'mozTCPSocket.open(host, 70000)');
  expectThrows(() => mozTCPSocket.open('127.0.0.1', 9, { binaryType: 'blob' }), 'TypeError', "mozTCPSocket.open binaryType 'blob'");
  expectThrows(() => mozTCPSocket.listen(), 'TypeError', 'mozTCPSocket.listen()');
  expectThrows(() => mozTCPSocket.listen(-1, LOOPBACK), 'TypeError', 'mozTCPSocket.listen(-1)');
  expectThrows(() => mozTCPSocket.listen('x', LOOPBACK), 'TypeError', "mozTCPSocket.listen('x')");
  expectThrows(() => mozTCPSocket.listen(0, { ...LOOPBACK, binaryType: 'blob' }), 'TypeError', "mozTCPSocket.listen binaryType 'blob'");
});

test('send(): a missing argument throws TypeError; any other non-ArrayBuffer is sent as its ByteString (§3.3)', { timeout: TIMEOUT }, async (t) => {
  const { socket, remote } = await openSocket(t);
  expectThrows(() => socket.send(), 'TypeError', 'send()');
  // The conversion runs before anything is sent, and its own exception propagates.
  expectThrows(() => socket.send({ toString() { return '\u0100'; } }), 'TypeError', 'send(object whose string is not a ByteString)');
  const thrown = new RangeError('from toString');
  assert.throws(() => socket.send({ toString() { throw thrown; } }), (error) => error === thrown,
    'an exception thrown by toString() reaches the caller');

  // Overloads are chosen by type, not by binaryType; a typed array is not an ArrayBuffer.
  const sent = [];
  for (const value of [5, {}, undefined, null, [104, 105], new Uint8Array([104, 105])]) {
    assert.equal(socket.send(value), true, `send(${Object.prototype.toString.call(value)})`);
    sent.push(String(value));
  }
  const expected = Buffer.from(sent.join(''), 'latin1');
  assert.equal(expected.toString('latin1'), '5[object Object]undefinednull104,105104,105');
  assert.equal(socket.readyState, 'open', 'the socket is still open');
  await remote.waitForBytes(expected.length);
  await sleep(50);
  assert.deepEqual([...remote.received], [...expected], 'each argument went out as its string, nothing else');
});

test('a Symbol where the IDL wants a string throws TypeError: host, send(), event type', { timeout: TIMEOUT }, async (t) => {
  // WebIDL converts to DOMString/ByteString with ToString, which throws on a Symbol; String()
  // would quietly make "Symbol(...)" of it and connect to, or send, that.
  expectThrows(() => new TCPSocket(Symbol('host'), 9), 'TypeError', 'new TCPSocket(Symbol, 9)');
  const { socket, remote } = await openSocket(t);
  expectThrows(() => socket.send(Symbol('s')), 'TypeError', 'send(Symbol)');
  expectThrows(() => socket.addEventListener(Symbol('data'), () => {}), 'TypeError', 'addEventListener(Symbol, f)');
  await sleep(50);
  assert.equal(remote.received.length, 0, 'nothing was sent');
});

test('send(string): a code unit above 0xFF throws TypeError; 0x00-0xFF are single bytes (§3.6)', { timeout: TIMEOUT }, async (t) => {
  const { socket, remote } = await openSocket(t);
  expectThrows(() => socket.send('\u0100'), 'TypeError', "send('\\u0100')");
  expectThrows(() => socket.send('a\u20acb'), 'TypeError', "send('a\\u20acb')");
  expectThrows(() => socket.send('\ud83d\ude00'), 'TypeError', 'send(an astral character)');
  assert.equal(socket.send('ok\u00ff\u0000!'), true);
  await remote.waitForBytes(5);
  await sleep(50);
  assert.deepEqual([...remote.received], [0x6f, 0x6b, 0xff, 0x00, 0x21],
    'nothing of the refused strings was sent, and each char of the accepted one is one byte');
});

test('send(ArrayBuffer, offset, length): unsigned longs, clamped to the buffer, never refused (§3.3)', { timeout: TIMEOUT }, async (t) => {
  const { socket, recorder, remote } = await openSocket(t);
  const ab = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).buffer;

  // Past the end is not an error: the bytes sent are clamped to the buffer.
  assert.equal(socket.send(ab, 8, 100), true, 'length past the end: sends [8, 9]');
  assert.equal(socket.send(ab, 20), true, 'offset past the end: sends nothing');
  assert.equal(socket.send(ab, 10, 0), true, 'zero length: sends nothing');
  // Out-of-range numbers are converted modulo 2^32 (NaN and non-numbers to 0), then clamped.
  assert.equal(socket.send(ab, -1), true, 'offset -1 is 4294967295, past the end: sends nothing');
  assert.equal(socket.send(ab, 2 ** 32 + 3, 2), true, 'offset 2^32 + 3 is 3: sends [3, 4]');
  assert.equal(socket.send(ab, NaN, 1), true, 'offset NaN is 0: sends [0]');
  assert.equal(socket.send(ab, 'x', 1), true, "offset 'x' is 0: sends [0]");
  assert.equal(socket.send(ab, 0, 2 ** 32), true, 'length 2^32 is 0: sends nothing');

  // The unclamped byteLength is what counts toward the 64 KiB threshold, so these report a full
  // buffer and owe a drain, whatever they actually send.
  assert.equal(socket.send(ab, 20, 70000), false, 'offset past the end with byteLength 70000 sends nothing');
  await recorder.waitFor('drain', 1);
  assert.equal(socket.send(ab, 0, -1), false, 'length -1 is 4294967295: sends the whole buffer');
  await recorder.waitFor('drain', 2);

  const expected = [8, 9, 3, 4, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  await remote.waitForBytes(expected.length);
  await sleep(50);
  assert.deepEqual([...remote.received], expected);
  assert.equal(socket.readyState, 'open');
  assert.deepEqual(recorder.events, ['open', 'drain', 'drain'], 'one drain per full send, no error');
});

test('send() unless open throws InvalidStateError (§3.1): connecting, closing, closed', { timeout: TIMEOUT }, async (t) => {
  const peer = await startPeer(t);
  const socket = track(t, new TCPSocket('127.0.0.1', peer.port, { binaryType: 'arraybuffer' }));
  const recorder = record(socket);
  const ab = new ArrayBuffer(4);

  assert.equal(socket.readyState, 'connecting');
  expectThrows(() => socket.send('x'), 'InvalidStateError', 'send(string) while connecting');
  expectThrows(() => socket.send(ab), 'InvalidStateError', 'send(ArrayBuffer) while connecting');

  await recorder.waitFor('open');
  socket.close();
  assert.equal(socket.readyState, 'closing');
  expectThrows(() => socket.send('x'), 'InvalidStateError', 'send(string) while closing');
  expectThrows(() => socket.send(ab, 0, 4), 'InvalidStateError', 'send(ArrayBuffer) while closing');

  await recorder.waitFor('close');
  assert.equal(socket.readyState, 'closed');
  expectThrows(() => socket.send('x'), 'InvalidStateError', 'send(string) when closed');
  expectThrows(() => socket.send(ab), 'InvalidStateError', 'send(ArrayBuffer) when closed');
  assert.deepEqual(recorder.events, ['open', 'close']);
});

test('closed socket: close/closeImmediately/suspend are no-ops, resume is counted, upgradeToSecure throws (§4, §6.2)', { timeout: TIMEOUT }, async (t) => {
  const { socket, recorder } = await closedSocket(t);
  const eventsBefore = recorder.events.length;

  // §4.2: close() in "closed" is a no-op; §6.2: close, closeImmediately and suspend never throw.
  socket.close();
  socket.closeImmediately();
  assert.equal(socket.readyState, 'closed');

  // §4.1: suspend/resume have no state check; resume throws only when nothing is suspended.
  socket.suspend();
  socket.suspend();
  socket.resume();
  socket.resume();
  expectThrows(() => socket.resume(), 'InvalidStateError', 'resume() with nothing suspended');

  // §4.3: only an open socket can be upgraded.
  expectThrows(() => socket.upgradeToSecure(), 'InvalidStateError', 'upgradeToSecure() when closed');
  assert.equal(socket.ssl, false, 'a refused upgrade leaves ssl false');

  await sleep(200);
  assert.deepEqual(recorder.events.slice(eventsBefore), [], 'none of these calls fires an event');
});

test('resume() without suspend and upgradeToSecure() before open throw InvalidStateError (§4.1, §4.3)', { timeout: TIMEOUT }, async (t) => {
  const peer = await startPeer(t);
  const socket = track(t, new TCPSocket('127.0.0.1', peer.port));
  const recorder = record(socket);
  assert.equal(socket.readyState, 'connecting');
  expectThrows(() => socket.upgradeToSecure(), 'InvalidStateError', 'upgradeToSecure() while connecting');
  expectThrows(() => socket.resume(), 'InvalidStateError', 'resume() while connecting, nothing suspended');

  await recorder.waitFor('open');
  expectThrows(() => socket.resume(), 'InvalidStateError', 'resume() when open, nothing suspended');
  // Extra arguments are ignored, as WebIDL does.
  socket.suspend('extra', 1);
  socket.resume('extra', 1);
  expectThrows(() => socket.resume(), 'InvalidStateError', 'resume() after a balanced suspend/resume');

  socket.close();
  expectThrows(() => socket.upgradeToSecure(), 'InvalidStateError', 'upgradeToSecure() while closing');
  await recorder.waitFor('close');
  assert.deepEqual(recorder.events, ['open', 'close']);
});

test('close() while connecting never throws and ends in exactly one close event', { timeout: TIMEOUT }, async (t) => {
  const peer = await startPeer(t);
  const socket = track(t, new TCPSocket('127.0.0.1', peer.port));
  const recorder = record(socket);
  socket.close();
  socket.close();
  await recorder.waitFor('close');
  await sleep(100);
  assert.equal(recorder.events.filter((e) => e === 'close').length, 1);
  assert.equal(recorder.events.includes('open'), false, 'a socket closed while connecting never opens');
  assert.equal(socket.readyState, 'closed');
});

test('handlers set on a closed socket are kept and never called', { timeout: TIMEOUT }, async (t) => {
  const { socket } = await closedSocket(t);
  const calls = [];
  const handlers = {};
  for (const type of EVENT_TYPES) {
    handlers[type] = () => calls.push(`on${type}`);
    socket['on' + type] = handlers[type];
    socket.addEventListener(type, () => calls.push(`listener ${type}`));
  }
  for (const type of EVENT_TYPES) {
    assert.equal(socket['on' + type], handlers[type], `on${type} reads back the function set`);
  }
  // An EventHandler attribute turns a non-object into null (WebIDL [LegacyTreatNonObjectAsNull]).
  socket.onclose = 5;
  assert.equal(socket.onclose, null);
  socket.ondata = null;
  assert.equal(socket.ondata, null);

  socket.addEventListener('data', null);
  socket.removeEventListener('data', handlers.data);
  socket.removeEventListener('data', null);

  await sleep(200);
  assert.deepEqual(calls, []);
});

test('addEventListener/removeEventListener: both arguments are required, the listener callable or null', { timeout: TIMEOUT }, async (t) => {
  // TCPSocket is an EventTarget in the reference's IDL; EventTarget's two methods take
  // (DOMString type, EventListener? callback): both required, the callback nullable.
  const { socket } = await openSocket(t);
  expectThrows(() => socket.addEventListener('data', 5), 'TypeError', "addEventListener('data', 5)");
  expectThrows(() => socket.addEventListener('data', 'f'), 'TypeError', "addEventListener('data', 'f')");
  expectThrows(() => socket.addEventListener(), 'TypeError', 'addEventListener()');
  expectThrows(() => socket.addEventListener('data'), 'TypeError', "addEventListener('data')");
  expectThrows(() => socket.removeEventListener(), 'TypeError', 'removeEventListener()');
  expectThrows(() => socket.removeEventListener('data'), 'TypeError', "removeEventListener('data')");
  assert.equal(socket.readyState, 'open', 'none of this touched the socket');
});

test('readonly attributes cannot be assigned', { timeout: TIMEOUT }, async (t) => {
  const { socket } = await openSocket(t);
  for (const [name, value] of [['readyState', 'closed'], ['bufferedAmount', 5], ['binaryType', 'arraybuffer'],
    ['host', 'example.org'], ['port', 1], ['ssl', true]]) {
    const before = socket[name];
    // This file is strict code, where assigning to a getter-only accessor is a TypeError.
    expectThrows(() => { socket[name] = value; }, 'TypeError', `assigning ${name}`);
    assert.equal(socket[name], before, `${name} unchanged`);
  }
});

test('TCPServerSocket: close() twice and handlers after close are harmless', { timeout: TIMEOUT }, async () => {
  const server = new TCPServerSocket(0, LOOPBACK);
  try {
    const calls = [];
    server.close();
    server.close();
    server.onconnect = () => calls.push('connect');
    server.onerror = () => calls.push('error');
    assert.equal(typeof server.onconnect, 'function');
    await sleep(200);
    assert.deepEqual(calls, []);
  } finally {
    server.close();
  }
});

/** Runs `script` in a child `node -e`, with TCPSOCKET_BINDING naming the binding to require. */
function runChild(script, timeoutMs = 15000) {
  return new Promise((resolve) => {
    const env = { ...process.env, TCPSOCKET_BINDING: BINDING };
    // The child is a plain script, not a test file of this run.
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

// The peer writes "one", and "two" once the client asks for "more"; the client's ondata throws on
// the first data event. `prelude` runs first (an uncaughtException handler, or none).
function throwingClient(prelude) {
  return `
const net = require('node:net');
const { TCPSocket } = require(process.env.TCPSOCKET_BINDING);
const state = { reported: [], received: '', events: [] };
let sock = null;
const watchdog = setTimeout(() => {
  process.stderr.write('watchdog: ' + JSON.stringify(state) + '\\n');
  process.exit(99);
}, 10000);
${prelude}
const peer = net.createServer((c) => {
  c.on('error', () => {});
  c.write('one');
  c.on('data', (d) => { if (String(d).includes('more')) c.end('two'); });
});
peer.listen(0, '127.0.0.1', () => {
  sock = new TCPSocket('127.0.0.1', peer.address().port);
  let thrown = false;
  sock.ondata = () => {
    state.events.push('ondata');
    if (!thrown) {
      thrown = true;
      throw new Error('thrown from ondata 4711');
    }
  };
  sock.addEventListener('data', (e) => { state.received += e.data; });
  sock.onerror = (e) => { state.events.push('error ' + e.name); };
  sock.onclose = () => {
    state.events.push('close');
    clearTimeout(watchdog);
    peer.close();
    console.log(JSON.stringify({ ...state, readyState: sock.readyState }));
  };
});
`;
}

test('a handler that throws is reported as an uncaught exception', { timeout: TIMEOUT }, async () => {
  const result = await runChild(throwingClient(''));
  assert.equal(result.timedOut, false, `the child hung; stderr: ${result.stderr}`);
  assert.equal(result.signal, null, `the child died of ${result.signal}; stderr: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, /FATAL ERROR|Aborted|Segmentation fault|watchdog/, 'not a crash, not swallowed');
  assert.match(result.stderr, /Error: thrown from ondata 4711/, `stderr: ${result.stderr}`);
  assert.equal(result.code, 1, `Node exits with 1 on an uncaught exception; stderr: ${result.stderr}`);
  assert.equal(result.stdout, '', 'the process ended at the exception, before any close');
});

test('with an uncaughtException handler installed, the socket keeps working after its handler threw', { timeout: TIMEOUT }, async () => {
  const result = await runChild(throwingClient(`
process.on('uncaughtException', (error) => {
  state.reported.push(error.message);
  // Still usable from here: ask the peer for the rest.
  sock.send('more');
});`));
  assert.equal(result.timedOut, false, `the child did not exit after close; stdout: ${result.stdout} stderr: ${result.stderr}`);
  assert.equal(result.signal, null, `the child died of ${result.signal}; stderr: ${result.stderr}`);
  assert.equal(result.code, 0, `exit code ${result.code}; stdout: ${result.stdout} stderr: ${result.stderr}`);
  const outcome = JSON.parse(result.stdout.trim());
  assert.deepEqual(outcome.reported, ['thrown from ondata 4711'], 'the exception reached uncaughtException once');
  assert.ok(outcome.received.endsWith('two'), `more data arrived after the throw: ${JSON.stringify(outcome.received)}`);
  assert.deepEqual(outcome.events, ['ondata', 'ondata', 'close'], 'ondata ran again, then close fired');
  assert.equal(outcome.readyState, 'closed');
  // DOM dispatch: one listener throwing does not keep the next one from running.
  assert.equal(outcome.received, 'onetwo', 'the data listener after the throwing ondata still saw "one"');
});
