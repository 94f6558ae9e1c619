'use strict';

// Smoke test of the mail server harness with curl only, so that a failure of the emailjs test
// can be pinned on the binding rather than on the servers it talks to.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startMailServers } = require('./support/mailservers');

const CURL_TIMEOUT_MS = 30000;
const DELIVERY_TIMEOUT_MS = 30000;

function curl(args) {
  return new Promise((resolve, reject) => {
    execFile('curl', ['--silent', '--show-error', '--max-time', '20', ...args],
      { encoding: 'buffer', timeout: CURL_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && error.code === 'ENOENT') {
          reject(new Error('curl is not installed (scripts/install-deps.sh installs it)'));
        } else if (error) {
          error.message = `curl ${args.join(' ')}: ${error.message}\n${stderr.toString('latin1')}`;
          error.curlExitCode = error.code;
          reject(error);
        } else {
          resolve(stdout);
        }
      });
  });
}

describe('mail server harness (curl only)', () => {
  let servers;
  let workDir;
  const token = crypto.randomBytes(8).toString('hex');
  const messageId = `<smoke-${token}@example.test>`;
  // A dot-led line (SMTP dot-stuffing) and every 8-bit byte value: both must come back unchanged.
  const body = Buffer.concat([
    Buffer.from(`smoke test ${token}\r\n.a line that starts with a dot\r\n`, 'latin1'),
    Buffer.from(Array.from({ length: 128 }, (_, i) => 0x80 + i)),
    Buffer.from('\r\nlast line\r\n', 'latin1'),
  ]);
  const message = Buffer.concat([
    Buffer.from([
      'From: <tester@example.test>',
      'To: <tester@example.test>',
      `Subject: harness smoke ${token}`,
      `Message-ID: ${messageId}`,
      'MIME-Version: 1.0',
      'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: 8bit',
      '',
      '',
    ].join('\r\n'), 'latin1'),
    body,
  ]);

  const auth = () => ['--cacert', servers.caFile, '--user', `${servers.user}:${servers.pass}`];

  async function findUid(url) {
    const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
    for (;;) {
      const out = (await curl([...auth(), '--ssl-reqd', url, '--request', `UID SEARCH HEADER Message-ID ${messageId}`]))
        .toString('latin1');
      const match = /^\* SEARCH ([0-9 ]+)\r?$/m.exec(out);
      if (match) return Number(match[1].trim().split(' ').pop());
      if (Date.now() > deadline) {
        throw new Error(`message ${messageId} not delivered within ${DELIVERY_TIMEOUT_MS} ms\n` +
          `--- postfix ---\n${fs.readFileSync(servers.logs.postfix, 'utf8')}\n` +
          `--- dovecot ---\n${fs.readFileSync(servers.logs.dovecot, 'utf8')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  before(async () => {
    servers = await startMailServers();
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpsocket-smoke-'));
  }, { timeout: 60000 });

  after(async () => {
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    if (servers) await servers.stop();
  }, { timeout: 60000 });

  it('starts on loopback with distinct ports', () => {
    assert.equal(servers.host, '127.0.0.1');
    const ports = [servers.smtpPort, servers.imapPort, servers.imapsPort];
    for (const port of ports) assert.ok(Number.isInteger(port) && port > 0 && port < 65536, `port ${port}`);
    assert.equal(new Set(ports).size, 3);
    assert.match(servers.caPem, /^-----BEGIN CERTIFICATE-----/);
  });

  it('refuses mail from a client that does not use TLS and AUTH', { timeout: 60000 }, async () => {
    const file = path.join(workDir, 'plain.eml');
    fs.writeFileSync(file, message);
    await assert.rejects(curl([...auth(), '--mail-from', servers.address, '--mail-rcpt', servers.address,
      '--upload-file', file, `smtp://${servers.host}:${servers.smtpPort}`]));
  });

  it('accepts a message over SMTP with STARTTLS and AUTH', { timeout: 60000 }, async () => {
    const file = path.join(workDir, 'message.eml');
    fs.writeFileSync(file, message);
    await curl([...auth(), '--ssl-reqd', '--mail-from', servers.address, '--mail-rcpt', servers.address,
      '--upload-file', file, `smtp://${servers.host}:${servers.smtpPort}`]);
  });

  it('returns the body byte for byte over IMAP with STARTTLS', { timeout: 60000 }, async () => {
    const mailbox = `imap://${servers.host}:${servers.imapPort}/INBOX`;
    const uid = await findUid(mailbox);
    const fetched = await curl([...auth(), '--ssl-reqd', `${mailbox};UID=${uid};SECTION=TEXT`]);
    assert.ok(fetched.equals(body), `body differs:\n${fetched.toString('latin1')}`);
  });

  it('returns the body byte for byte over IMAP with implicit TLS', { timeout: 60000 }, async () => {
    const mailbox = `imaps://${servers.host}:${servers.imapsPort}/INBOX`;
    const uid = await findUid(mailbox);
    const fetched = await curl([...auth(), `${mailbox};UID=${uid};SECTION=TEXT`]);
    assert.ok(fetched.equals(body), `body differs:\n${fetched.toString('latin1')}`);
    const whole = await curl([...auth(), `${mailbox};UID=${uid}`]);
    assert.ok(whole.includes(Buffer.from(`Message-ID: ${messageId}\r\n`)), 'headers lost');
  });
});
