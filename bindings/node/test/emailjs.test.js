'use strict';

// The binding under its real consumers: emailjs-smtp-client and emailjs-imap-client, unmodified,
// talking to Postfix and Dovecot through our mozTCPSocket, with certificate verification on.
//
// How each library takes the socket implementation:
// - SmtpClient#connect(SocketConstructor) calls SocketConstructor.open(host, port,
//   { binaryType: 'arraybuffer', useSecureTransport, ca, tlsWorkerPath, ws }), so mozTCPSocket is
//   passed to connect() directly.
// - ImapClient#connect() takes no socket; its inner Imap object's connect(Socket) does, calling
//   Socket.open(host, port, { binaryType: 'arraybuffer', useSecureTransport, ca }). The inner
//   connect is wrapped to pass mozTCPSocket (see imapClient()).
// Both libraries call upgradeToSecure() and then send their next command at once, before the
// TLS handshake can have finished, and read evt.data as an ArrayBuffer (and, for errors, as an
// Error-like object with a message).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { startMailServers } = require('./support/mailservers');
const { TCPSocket, mozTCPSocket } = require('..');
const smtp = require('emailjs-smtp-client');
const imap = require('emailjs-imap-client');

const SmtpClient = smtp.default;
const ImapClient = imap.default;

// The libraries log every protocol line at their default level; TCPSOCKET_MAIL_DEBUG=1 turns
// that back on for a failing run.
const DEBUG = Boolean(process.env.TCPSOCKET_MAIL_DEBUG);
const SMTP_LOG_LEVEL = DEBUG ? smtp.LOG_LEVEL_ALL : smtp.LOG_LEVEL_ERROR;
const IMAP_LOG_LEVEL = DEBUG ? imap.LOG_LEVEL_ALL : imap.LOG_LEVEL_ERROR;

const SESSION_TIMEOUT_MS = 100000;
const BIG_SESSION_TIMEOUT_MS = 160000;
const DELIVERY_TIMEOUT_MS = 30000;
const LOGOUT_TIMEOUT_MS = 5000;
const SEND_CHUNK = 64 * 1024;
const ATTACHMENT_BYTES = 20 * 1024 * 1024;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A hung library call must not hang the file: give up after `ms`, and let `abort` close the
// connection so that no socket keeps the process alive.
async function withDeadline(what, ms, abort, promise) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => {
      // Rejected first, so that the race reports the timeout rather than whatever the abort
      // makes the session report.
      reject(new Error(`${what} did not finish within ${ms} ms`));
      try {
        abort();
      } catch {
        // the connection is being torn down anyway
      }
    }, ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function serverLogs(servers) {
  const read = (file) => {
    try {
      return fs.readFileSync(file, 'utf8').split('\n').slice(-40).join('\n');
    } catch (e) {
      return `(unreadable: ${e.message})`;
    }
  };
  return `--- postfix ---\n${read(servers.logs.postfix)}\n--- dovecot ---\n${read(servers.logs.dovecot)}`;
}

function makeToken() {
  return crypto.randomBytes(8).toString('hex');
}

function headerBlock(servers, token, extra) {
  return [
    `From: <${servers.address}>`,
    `To: <${servers.address}>`,
    `Subject: tcpsocket emailjs ${token}`,
    `Message-ID: <emailjs-${token}@example.test>`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    ...extra,
    '',
    '',
  ].join('\r\n');
}

// Submits `message` (a string; the library sends it as UTF-8) and resolves once the server has
// queued it and the connection is closed after QUIT.
function submit(servers, message) {
  const client = new SmtpClient(servers.host, servers.smtpPort, {
    useSecureTransport: false,
    // Refuse to go on in clear text: without TLS there would be no AUTH to begin with.
    requireTLS: true,
    name: 'localhost',
    auth: { user: servers.user, pass: servers.pass },
    ca: servers.caPem,
  });
  client.logLevel = SMTP_LOG_LEVEL;

  const session = new Promise((resolve, reject) => {
    let state = 'connecting';
    let secure = false;
    let failure = null;
    const fail = (error) => {
      if (!failure) failure = error instanceof Error ? error : new Error(String(error));
      client.close();
    };

    client.onerror = fail;
    client.onidle = () => {
      if (state === 'connecting') {
        if (!(client.socket instanceof TCPSocket)) {
          fail(new Error('emailjs-smtp-client is not using the binding\'s socket'));
          return;
        }
        secure = client.socket.ssl === true;
        state = 'envelope';
        client.useEnvelope({ from: servers.address, to: [servers.address] });
      } else if (state === 'queued') {
        state = 'quitting';
        client.quit();
      }
    };
    client.onready = (rejected) => {
      if (rejected.length) {
        fail(new Error(`recipients rejected: ${rejected.join(', ')}`));
        return;
      }
      state = 'data';
      (async () => {
        for (let offset = 0; offset < message.length; offset += SEND_CHUNK) {
          if (!client.send(message.slice(offset, offset + SEND_CHUNK))) {
            await new Promise((resolve) => { client.ondrain = resolve; });
          }
          if (failure) return;
        }
        state = 'ending';
        client.end();
      })().catch(fail);
    };
    client.ondone = (success) => {
      if (success) state = 'queued';
      else fail(new Error('the server did not queue the message'));
    };
    client.onclose = () => {
      if (failure) reject(failure);
      else if (state === 'quitting') resolve({ secure });
      else reject(new Error(`the connection closed while ${state}`));
    };
    client.connect(mozTCPSocket);
  });

  const abort = () => {
    if (client.socket && typeof client.socket.closeImmediately === 'function') client.socket.closeImmediately();
    client.close();
  };
  return withDeadline('SMTP submission', message.length > SEND_CHUNK ? BIG_SESSION_TIMEOUT_MS : SESSION_TIMEOUT_MS,
    abort, session);
}

function imapClient(servers, implicitTls, overrides = {}) {
  const client = new ImapClient(servers.host, implicitTls ? servers.imapsPort : servers.imapPort, {
    useSecureTransport: implicitTls,
    // Dovecot counts loopback as secure and would take a clear-text LOGIN; make the client insist.
    requireTLS: !implicitTls,
    auth: { user: servers.user, pass: servers.pass },
    ca: servers.caPem,
    logLevel: IMAP_LOG_LEVEL,
    ...overrides,
  });
  // ImapClient has no option for the socket implementation; its inner Imap#connect takes one.
  const inner = client.client;
  const connect = inner.connect.bind(inner);
  inner.connect = () => connect(mozTCPSocket);
  return client;
}

// Logs in, runs `fn(client)`, logs out; always leaves the connection closed.
async function imapSession(servers, implicitTls, timeoutMs, fn) {
  const client = imapClient(servers, implicitTls);
  let asyncError = null;
  client.onerror = (error) => { asyncError = error; };
  const work = (async () => {
    await client.connect();
    assert.ok(client.client.socket instanceof TCPSocket, 'emailjs-imap-client is not using the binding\'s socket');
    assert.equal(client.client.socket.ssl, true, 'the IMAP connection is not using TLS');
    const result = await fn(client);
    if (asyncError) throw asyncError;
    return result;
  })();
  try {
    return await withDeadline(`IMAP session (${implicitTls ? 'implicit TLS' : 'STARTTLS'})`, timeoutMs,
      () => { client.close().catch(() => {}); }, work);
  } finally {
    await withDeadline('IMAP logout', LOGOUT_TIMEOUT_MS, () => {}, client.logout()).catch(() => {});
    await client.close().catch(() => {});
  }
}

async function findByMessageId(servers, client, messageId) {
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
  for (;;) {
    const uids = await client.search('INBOX', { header: ['message-id', messageId] }, { byUid: true });
    if (uids.length) return uids[uids.length - 1];
    if (Date.now() > deadline) {
      throw new Error(`${messageId} did not arrive within ${DELIVERY_TIMEOUT_MS} ms\n${serverLogs(servers)}`);
    }
    await sleep(250);
  }
}

async function fetchMessage(servers, client, messageId) {
  // Delivery (Postfix to Dovecot over LMTP) runs after SMTP's 250, so INBOX may still be empty
  // here; findByMessageId polls.
  const mailbox = await client.selectMailbox('INBOX');
  assert.equal(typeof mailbox.exists, 'number', `SELECT INBOX returned ${JSON.stringify(mailbox)}`);
  const uid = await findByMessageId(servers, client, messageId);
  // Two FETCHes: valueAsString:false, needed for exact bytes, would turn the envelope's strings
  // into byte arrays too.
  const [withEnvelope] = await client.listMessages('INBOX', String(uid), ['uid', 'envelope'], { byUid: true });
  assert.ok(withEnvelope, `no ENVELOPE for UID ${uid}`);
  const [withText] = await client.listMessages('INBOX', String(uid), ['uid', 'body.peek[text]'],
    { byUid: true, valueAsString: false });
  assert.ok(withText, `no BODY[TEXT] for UID ${uid}`);
  const text = withText['body[text]'];
  assert.ok(text instanceof Uint8Array, `BODY[TEXT] came back as ${Object.prototype.toString.call(text)}`);
  return { uid, envelope: withEnvelope.envelope, text: Buffer.from(text.buffer, text.byteOffset, text.byteLength) };
}

function assertSameBytes(actual, expected, what) {
  if (actual.equals(expected)) return;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  assert.fail(`${what}: ${actual.length} bytes back, ${expected.length} sent; first difference at byte ${i}: ` +
    `got ${JSON.stringify(actual.subarray(i, i + 40).toString('latin1'))}, ` +
    `expected ${JSON.stringify(expected.subarray(i, i + 40).toString('latin1'))}`);
}

describe('emailjs SMTP and IMAP clients over the tcpsocket binding', () => {
  let servers;

  const token = makeToken();
  const messageId = `<emailjs-${token}@example.test>`;
  // A dot-led line (dot-stuffing in both directions) and multi-byte UTF-8, which both libraries
  // carry as bytes in ArrayBuffers.
  const bodyText = [
    `plain message ${token}`,
    '.this line starts with a dot',
    '..and this one with two',
    'Grüße aus Köln — 東京 — 🚀',
    'last line',
    '',
  ].join('\r\n');
  const body = Buffer.from(bodyText, 'utf8');
  let submitted = null;

  before(async () => {
    servers = await startMailServers();
  }, { timeout: 60000 });

  after(async () => {
    if (servers) await servers.stop();
  }, { timeout: 60000 });

  it('submits a message with emailjs-smtp-client over STARTTLS and AUTH', { timeout: 120000 }, async () => {
    const message = headerBlock(servers, token, [
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
    ]) + bodyText;
    const result = await submit(servers, message);
    assert.equal(result.secure, true, 'socket.ssl was not true after STARTTLS');
    submitted = true;
  });

  for (const implicitTls of [false, true]) {
    const how = implicitTls ? 'implicit TLS (useSecureTransport)' : 'STARTTLS';
    it(`reads it back byte for byte with emailjs-imap-client over ${how}`, { timeout: 120000 }, async () => {
      assert.ok(submitted, 'nothing to read: the SMTP submission failed');
      const fetched = await imapSession(servers, implicitTls, SESSION_TIMEOUT_MS,
        (client) => fetchMessage(servers, client, messageId));
      assert.equal(fetched.envelope.subject, `tcpsocket emailjs ${token}`);
      assert.equal(fetched.envelope['message-id'], messageId);
      assertSameBytes(fetched.text, body, 'BODY[TEXT]');
    });
  }

  it('refuses the server certificate when the test CA is not given', { timeout: 120000 }, async () => {
    // The system trust store does not know the test CA: if this connects, verification is off.
    const client = imapClient(servers, true, { ca: undefined, logLevel: imap.LOG_LEVEL_NONE });
    // When the socket fails before the greeting, ImapClient leaves its connection timer (90 s by
    // default) running, and that timer alone would hold the test process open.
    client.timeoutConnection = 5000;
    const attempt = withDeadline('IMAP connection without the test CA', SESSION_TIMEOUT_MS,
      () => { client.close().catch(() => {}); }, client.connect());
    try {
      await assert.rejects(attempt, (error) => {
        assert.doesNotMatch(error.message, /did not finish within/);
        return true;
      });
    } finally {
      await client.close().catch(() => {});
    }
  });

  it('carries a 20 MiB attachment through SMTP and back through IMAP', { timeout: 300000 }, async () => {
    const bigToken = makeToken();
    const bigMessageId = `<emailjs-${bigToken}@example.test>`;
    const boundary = `----tcpsocket-${bigToken}`;
    const payload = crypto.randomBytes(ATTACHMENT_BYTES);
    const base64 = payload.toString('base64').replace(/.{76}/g, '$&\r\n').replace(/\r\n$/, '');
    const mimeBody = [
      `--${boundary}`,
      'Content-Type: text/plain; charset=us-ascii',
      '',
      `A ${ATTACHMENT_BYTES}-byte attachment follows.`,
      `--${boundary}`,
      'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="random.bin"',
      '',
      base64,
      `--${boundary}--`,
      '',
    ].join('\r\n');
    const message = headerBlock(servers, bigToken, [`Content-Type: multipart/mixed; boundary="${boundary}"`]) +
      mimeBody;

    const result = await submit(servers, message);
    assert.equal(result.secure, true);

    const fetched = await imapSession(servers, false, BIG_SESSION_TIMEOUT_MS,
      (client) => fetchMessage(servers, client, bigMessageId));
    assert.equal(fetched.envelope['message-id'], bigMessageId);
    assertSameBytes(fetched.text, Buffer.from(mimeBody, 'latin1'), 'multipart BODY[TEXT]');

    const raw = fetched.text.toString('latin1');
    const start = raw.indexOf('filename="random.bin"\r\n\r\n');
    const end = raw.indexOf(`\r\n--${boundary}--`);
    assert.ok(start > 0 && end > start, 'attachment part not found in the fetched body');
    const decoded = Buffer.from(raw.slice(start + 'filename="random.bin"\r\n\r\n'.length, end), 'base64');
    assert.equal(decoded.length, ATTACHMENT_BYTES);
    assert.ok(decoded.equals(payload), 'decoded attachment differs from the bytes sent');
  });
});
