'use strict';

// Private Postfix (submission with STARTTLS + SASL) and Dovecot (IMAP, IMAPS, LMTP, SASL for
// Postfix) on loopback, for tests that drive real mail clients. Everything lives in a fresh temp
// dir and on ports picked at run time, so a system-wide Postfix or Dovecot on 25/143/993 (or a
// second test run) is never touched.

const { execFile, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const HOST = '127.0.0.1';
const DOMAIN = 'example.test';
const USER = 'tester';
const START_ATTEMPTS = 3;
const PORT_WAIT_MS = 15000;
const STOP_WAIT_MS = 10000;
const COMMAND_TIMEOUT_MS = 30000;
// A 20 MiB attachment grows to ~27 MiB in base64; leave room for headers and a second message.
const MESSAGE_SIZE_LIMIT = 64 * 1024 * 1024;
const INSTALL_HINT = 'scripts/install-deps.sh installs it';

// Fallbacks for a PATH without the sbin directories (postfix and dovecot live there).
const EXTRA_PATH = ['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin', '/bin', '/usr/local/bin'];

function findProgram(name, pkg) {
  const dirs = (process.env.PATH || '').split(path.delimiter).filter(Boolean).concat(EXTRA_PATH);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} is not installed (${pkg ? `Debian package ${pkg}; ` : ''}${INSTALL_HINT})`);
}

function run(file, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, ...options },
      (error, stdout, stderr) => {
        if (error) {
          const detail = String(stderr || stdout || '').trim();
          error.message = `${path.basename(file)} ${args.join(' ')} failed: ${error.message}` +
            (detail ? `\n${detail}` : '');
          error.stderr = stderr;
          reject(error);
          return;
        }
        resolve({ stdout, stderr });
      });
  });
}

// For commands that leave a daemon behind: the daemon inherits the command's stdout and stderr,
// so waiting for pipes to close (as execFile does) would wait for the daemon's death. Output goes
// to a file instead, and only the command's own exit is awaited.
function runDaemonizing(file, args, outputFile) {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(outputFile, 'a');
    let child;
    try {
      child = spawn(file, args, { stdio: ['ignore', fd, fd] });
    } finally {
      fs.closeSync(fd);
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve();
        return;
      }
      const how = sig ? `was killed by ${sig}` : `exited with status ${code}`;
      reject(new Error(`${path.basename(file)} ${args.join(' ')} ${how}\n${tail(outputFile, 20)}`));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch (e) {
    return `(no log: ${e.code || e.message})`;
  }
}

// Ports come from the kernel rather than a constant so that parallel runs and system daemons
// never clash; all of them are held open together so that they are distinct from each other.
async function pickFreePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, HOST, resolve);
      });
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(() => resolve()))));
  }
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function userIds(name) {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) return null;
  const fields = line.split(':');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

// Both masters call setsid(), so every process they spawn shares the master's session id; that
// is how stop() knows when the whole service, not just its master, is gone.
function sessionMembers(sid) {
  const pids = [];
  let entries;
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // comm (field 2) may hold spaces or parentheses; the fixed fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[3]) === sid && fields[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return pids;
}

function readPid(file) {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function waitSessionGone(sid, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (sessionMembers(sid).length === 0) return true;
    await sleep(100);
  }
  return sessionMembers(sid).length === 0;
}

async function makeCertificates(openssl, dir) {
  fs.mkdirSync(dir, { mode: 0o755 });
  const f = (name) => path.join(dir, name);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(openssl, ['req', '-x509', ...ecKey, '-keyout', f('ca.key'), '-out', f('ca.crt'),
    '-days', '7', '-subj', '/CN=tcpsocket test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run(openssl, ['req', '-new', ...ecKey, '-keyout', f('server.key'), '-out', f('server.csr'),
    '-subj', '/CN=localhost']);
  fs.writeFileSync(f('server.ext'), [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = serverAuth',
    'subjectAltName = DNS:localhost, IP:127.0.0.1',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n'));
  await run(openssl, ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'),
    '-set_serial', `0x${crypto.randomBytes(8).toString('hex')}`, '-days', '7',
    '-extfile', f('server.ext'), '-out', f('server.crt')]);
  fs.chmodSync(f('ca.key'), 0o600);
  fs.chmodSync(f('server.key'), 0o600);
  return {
    caFile: f('ca.crt'),
    certFile: f('server.crt'),
    keyFile: f('server.key'),
    caPem: fs.readFileSync(f('ca.crt'), 'utf8'),
  };
}

function dovecotConfig(p, log) {
  return `# Private Dovecot for the tcpsocket Node tests; nothing from the system configuration is read.
instance_name = ${p.instanceName}
protocols = imap lmtp
listen = ${HOST}
base_dir = ${p.baseDir}
state_dir = ${p.stateDir}
log_path = ${log}
# Dovecot still treats a loopback client as secured and takes a clear-text LOGIN from it, so
# the tests make their clients insist on TLS.
ssl = required
ssl_cert = <${p.tls.certFile}
ssl_key = <${p.tls.keyFile}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
# Postfix hands LMTP the full address; IMAP logins use the bare name. Both map to one user.
auth_username_format = %Ln
first_valid_uid = ${p.mailIds.uid}
first_valid_gid = ${p.mailIds.gid}
mail_location = maildir:${p.mailDir}/%n/Maildir
# A 20 MiB attachment arrives as ~27 MiB of base64: keep the processes that hold it well clear
# of the default 256 MiB address-space cap, and let long lines through.
default_vsz_limit = 1G
imap_max_line_length = 1M

passdb {
  driver = passwd-file
  args = scheme=PLAIN ${p.usersFile}
}
userdb {
  driver = passwd-file
  args = ${p.usersFile}
}

service imap-login {
  inet_listener imap {
    address = ${HOST}
    port = ${p.imapPort}
  }
  inet_listener imaps {
    address = ${HOST}
    port = ${p.imapsPort}
    ssl = yes
  }
}
service lmtp {
  unix_listener ${p.lmtpSocket} {
    mode = 0666
  }
}
service auth {
  unix_listener ${p.authSocket} {
    mode = 0666
  }
}
`;
}

function postfixMainCf(p, log) {
  return `# Private Postfix for the tcpsocket Node tests.
compatibility_level = 3.6
queue_directory = ${p.queueDir}
data_directory = ${p.dataDir}
mail_owner = postfix
setgid_group = postdrop
maillog_file = ${log}
maillog_file_prefixes = ${p.root}
myhostname = mail.${DOMAIN}
mydomain = ${DOMAIN}
myorigin = $myhostname
mydestination =
inet_interfaces = ${HOST}
inet_protocols = ipv4
mynetworks = ${HOST}/32
relayhost =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
append_dot_mydomain = no
# Only the test domain is delivered; anything else fails at once instead of sitting in a queue.
local_transport = error:local delivery is disabled
default_transport = error:outbound mail is disabled
relay_transport = error:outbound mail is disabled
virtual_mailbox_domains = ${DOMAIN}
virtual_mailbox_maps = texthash:${p.vmailboxFile}
virtual_transport = lmtp:unix:${p.lmtpSocket}
message_size_limit = ${MESSAGE_SIZE_LIMIT}
mailbox_size_limit = 0
virtual_mailbox_limit = 0
smtpd_banner = $myhostname ESMTP
smtpd_tls_security_level = may
smtpd_tls_cert_file = ${p.tls.certFile}
smtpd_tls_key_file = ${p.tls.keyFile}
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = ${p.authSocket}
# Even mail for the local test domain needs a login, so a passing test proves AUTH worked.
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions =
`;
}

function postfixMasterCf(p) {
  // chroot is off everywhere: the sockets and files in the temp dir must be reachable as given.
  return `# service type private unpriv chroot wakeup maxproc command
${HOST}:${p.smtpPort} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
`;
}

// Masters started by any attempt in this process, so that an exit that skips stop() (a crash,
// a forgotten after()) still takes them down.
const liveMasters = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveMasters) signal(pid, 'SIGTERM');
  });
}

class Instance {
  constructor(programs) {
    this.programs = programs;
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpsocket-mail-'));
    // Postfix and Dovecot drop to their own users and must traverse into this directory.
    fs.chmodSync(this.root, 0o755);
    this.postfixMaster = null;
    this.dovecotMaster = null;
    this.stopped = false;
  }

  async start() {
    const root = this.root;
    const [smtpPort, imapPort, imapsPort] = await pickFreePorts(3);
    const mailIds = userIds('mail') || userIds('nobody');
    if (!mailIds) throw new Error('neither a "mail" nor a "nobody" user exists to own the test maildir');
    const pass = crypto.randomBytes(12).toString('hex');
    const p = {
      root,
      smtpPort,
      imapPort,
      imapsPort,
      mailIds,
      instanceName: `tcpsocket-test-${path.basename(root)}`,
      tls: await makeCertificates(this.programs.openssl, path.join(root, 'tls')),
      postfixDir: path.join(root, 'postfix'),
      queueDir: path.join(root, 'postfix-queue'),
      dataDir: path.join(root, 'postfix-data'),
      dovecotDir: path.join(root, 'dovecot'),
      baseDir: path.join(root, 'dovecot-run'),
      stateDir: path.join(root, 'dovecot-state'),
      mailDir: path.join(root, 'mail'),
      authSocket: path.join(root, 'auth-postfix'),
      lmtpSocket: path.join(root, 'lmtp'),
    };
    // sun_path holds 108 bytes; a long TMPDIR would otherwise surface as an obscure bind error.
    if (Buffer.byteLength(p.authSocket) > 100) {
      throw new Error(`temp dir path too long for unix sockets (${root}); point TMPDIR at a shorter one`);
    }
    this.ports = { smtpPort, imapPort, imapsPort };
    this.credentials = { user: USER, pass, address: `${USER}@${DOMAIN}` };
    this.caPem = p.tls.caPem;
    this.caFile = p.tls.caFile;
    this.postfixLog = path.join(root, 'postfix.log');
    this.dovecotLog = path.join(root, 'dovecot.log');
    this.postfixOutput = path.join(root, 'postfix.out');
    this.dovecotOutput = path.join(root, 'dovecot.out');
    this.postfixDir = p.postfixDir;
    this.dovecotConf = path.join(p.dovecotDir, 'dovecot.conf');
    this.dovecotPidFile = path.join(p.baseDir, 'master.pid');
    this.postfixPidFile = path.join(p.queueDir, 'pid', 'master.pid');

    for (const d of [p.postfixDir, p.queueDir, p.dovecotDir, p.stateDir, p.mailDir]) {
      fs.mkdirSync(d, { mode: 0o755 });
    }
    const postfixIds = userIds('postfix');
    if (!postfixIds) throw new Error(`the postfix user does not exist (${INSTALL_HINT})`);
    fs.mkdirSync(p.dataDir, { mode: 0o700 });
    fs.chownSync(p.dataDir, postfixIds.uid, postfixIds.gid);
    fs.chownSync(p.mailDir, mailIds.uid, mailIds.gid);

    p.usersFile = path.join(p.dovecotDir, 'users');
    p.vmailboxFile = path.join(p.postfixDir, 'vmailbox');
    fs.writeFileSync(p.usersFile,
      `${USER}:{PLAIN}${pass}:${mailIds.uid}:${mailIds.gid}::${path.join(p.mailDir, USER)}::\n`, { mode: 0o644 });
    fs.writeFileSync(p.vmailboxFile, `${this.credentials.address} ${USER}/\n`);

    fs.writeFileSync(this.dovecotConf, dovecotConfig(p, this.dovecotLog));
    fs.writeFileSync(path.join(p.postfixDir, 'main.cf'), postfixMainCf(p, this.postfixLog));
    fs.writeFileSync(path.join(p.postfixDir, 'master.cf'), postfixMasterCf(p));

    await this.checkDovecotBinaries();
    installExitHook();

    // Dovecot first: Postfix's smtpd needs its auth socket for the first AUTH.
    try {
      await runDaemonizing(this.programs.dovecot, ['-c', this.dovecotConf], this.dovecotOutput);
    } catch (e) {
      throw this.startError('dovecot', e.message, this.dovecotLog);
    } finally {
      this.adoptMasters();
    }
    try {
      await runDaemonizing(this.programs.postfix, ['-c', this.postfixDir, 'start'], this.postfixOutput);
    } catch (e) {
      throw this.startError('postfix', e.message, this.postfixLog);
    } finally {
      this.adoptMasters();
    }

    const deadline = Date.now() + PORT_WAIT_MS;
    const waits = [
      ['postfix', smtpPort, this.postfixLog],
      ['dovecot', imapPort, this.dovecotLog],
      ['dovecot', imapsPort, this.dovecotLog],
    ];
    for (const [name, port, log] of waits) {
      while (!(await canConnect(port))) {
        if (Date.now() > deadline) {
          throw this.startError(name, `port ${port} did not accept connections within ${PORT_WAIT_MS} ms`, log);
        }
        await sleep(100);
      }
    }
    // The starting commands may return before their daemon has written its pid file.
    while (this.adoptMasters(), !(this.dovecotMaster && this.postfixMaster)) {
      if (Date.now() > deadline) {
        const [name, log] = this.dovecotMaster ? ['postfix', this.postfixLog] : ['dovecot', this.dovecotLog];
        throw this.startError(name, `its master wrote no pid file within ${PORT_WAIT_MS} ms`, log);
      }
      await sleep(50);
    }
    // A port that answers could belong to someone who grabbed it after pickFreePorts; our
    // masters must still be alive and have bound it themselves.
    for (const [name, pid, log] of [['dovecot', this.dovecotMaster, this.dovecotLog],
      ['postfix', this.postfixMaster, this.postfixLog]]) {
      if (sessionMembers(pid).length === 0) throw this.startError(name, 'its master process is not running', log);
    }
    const bindFailure = /address already in use/i;
    for (const [name, log] of [['dovecot', this.dovecotLog], ['postfix', this.postfixLog]]) {
      if (bindFailure.test(tail(log, 200))) throw this.startError(name, 'a listener could not bind', log);
    }
  }

  adoptMasters() {
    if (!this.dovecotMaster && this.dovecotPidFile) this.dovecotMaster = readPid(this.dovecotPidFile);
    if (!this.postfixMaster && this.postfixPidFile) this.postfixMaster = readPid(this.postfixPidFile);
    for (const pid of [this.dovecotMaster, this.postfixMaster]) {
      if (pid) liveMasters.add(pid);
    }
  }

  async checkDovecotBinaries() {
    let libexec = '/usr/lib/dovecot';
    try {
      const { stdout } = await run(this.programs.doveconf, ['-c', this.dovecotConf, '-h', 'libexec_dir']);
      if (stdout.trim()) libexec = stdout.trim();
    } catch (e) {
      throw new Error(`the test Dovecot configuration is invalid: ${e.message}`);
    }
    for (const [binary, pkg] of [['imap', 'dovecot-imapd'], ['imap-login', 'dovecot-imapd'], ['lmtp', 'dovecot-lmtpd']]) {
      if (!fs.existsSync(path.join(libexec, binary))) {
        throw new Error(`Dovecot's ${binary} is not installed (Debian package ${pkg}; ${INSTALL_HINT})`);
      }
    }
  }

  startError(name, message, log) {
    const error = new Error(`${name} failed to start: ${message}\n--- tail of ${name}'s log ---\n${tail(log)}`);
    error.bindFailure = /address already in use|EADDRINUSE/i.test(`${message}\n${tail(log, 200)}`);
    return error;
  }

  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.adoptMasters();
    const problems = [];
    if (this.postfixMaster) {
      await runDaemonizing(this.programs.postfix, ['-c', this.postfixDir, 'stop'], this.postfixOutput)
        .catch(() => signal(this.postfixMaster, 'SIGTERM'));
    }
    if (this.dovecotMaster) {
      await runDaemonizing(this.programs.dovecot, ['-c', this.dovecotConf, 'stop'], this.dovecotOutput)
        .catch(() => signal(this.dovecotMaster, 'SIGTERM'));
    }
    for (const [name, sid] of [['postfix', this.postfixMaster], ['dovecot', this.dovecotMaster]]) {
      if (!sid) continue;
      if (!(await waitSessionGone(sid, STOP_WAIT_MS))) {
        for (const pid of sessionMembers(sid)) signal(pid, 'SIGKILL');
        if (!(await waitSessionGone(sid, 2000))) problems.push(`${name} processes ${sessionMembers(sid).join(' ')} survived SIGKILL`);
      }
      liveMasters.delete(sid);
    }
    fs.rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
    if (problems.length) throw new Error(`stopping the mail servers: ${problems.join('; ')}`);
  }
}

async function startMailServers() {
  if (process.platform !== 'linux') throw new Error('the mail server harness needs Linux');
  const programs = {
    openssl: findProgram('openssl', 'openssl'),
    postfix: findProgram('postfix', 'postfix'),
    dovecot: findProgram('dovecot', 'dovecot-core'),
    doveconf: findProgram('doveconf', 'dovecot-core'),
  };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the private Postfix instance needs root: postfix start refuses to run otherwise');
  }

  let lastError;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const instance = new Instance(programs);
    try {
      await instance.start();
      return {
        host: HOST,
        ...instance.ports,
        caPem: instance.caPem,
        // For command-line clients such as curl; it goes away with stop().
        caFile: instance.caFile,
        ...instance.credentials,
        logs: { postfix: instance.postfixLog, dovecot: instance.dovecotLog },
        stop: () => instance.stop(),
      };
    } catch (e) {
      lastError = e;
      await instance.stop().catch(() => {});
      // Another process can take a port between pickFreePorts and the bind; only that is worth
      // another try, any other failure would fail the same way again.
      if (!e.bindFailure) break;
    }
  }
  throw lastError;
}

module.exports = { startMailServers };
