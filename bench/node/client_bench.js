'use strict';
// A JavaScript client with one of three socket implementations, measuring its own CPU:
//   node client_bench.js MODE IMPL PORT CONNS SECONDS SIZE
// MODE: pingpong (one message of SIZE bytes in flight per connection) or bulk (up to 4 x SIZE in
// flight per connection). IMPL: binding (this project), net (Node's), emailjs (emailjs-tcp-socket's
// Node shim, what the Firefox OS-era libraries run on in Node today). Against an echo server;
// prints one JSON line: messages (echoes completed), bytes echoed, seconds, cpu_seconds.
const [mode, impl, port, conns, seconds, size] = process.argv.slice(2);
const payload = new Uint8Array(Number(size)).fill(97);

function binding(onOpen) {
  const { TCPSocket } = require('../../bindings/node');
  const s = new TCPSocket('127.0.0.1', Number(port), { binaryType: 'arraybuffer' });
  const api = { send: () => s.send(payload.buffer), close: () => s.close() };
  s.onopen = () => onOpen(api);
  return (onData) => { s.ondata = ({ data }) => onData(data.byteLength); };
}

function emailjs(onOpen) {
  const TCPSocket = require('../../bindings/node/node_modules/emailjs-tcp-socket').default
    || require('../../bindings/node/node_modules/emailjs-tcp-socket');
  const s = TCPSocket.open('127.0.0.1', Number(port), { binaryType: 'arraybuffer' });
  const api = { send: () => s.send(payload.buffer.slice(0)), close: () => s.close() };
  s.onopen = () => onOpen(api);
  return (onData) => { s.ondata = ({ data }) => onData(data.byteLength); };
}

function netSocket(onOpen) {
  const net = require('node:net');
  const s = net.connect({ host: '127.0.0.1', port: Number(port), noDelay: true });
  const buf = Buffer.from(payload);
  const api = { send: () => s.write(buf), close: () => s.destroy() };
  s.on('connect', () => onOpen(api));
  return (onData) => { s.on('data', (d) => onData(d.length)); };
}

const make = { binding, emailjs, net: netSocket }[impl];
const total = Number(conns);
const window = mode === 'bulk' ? 4 * payload.length : payload.length;
let messages = 0;
let bytes = 0;
let running = true;
const starters = [];

// Each connection starts once all are open, then keeps `window` bytes in flight: in ping-pong one
// message, answered before the next is sent.
for (let i = 0; i < total; i++) {
  let inFlight = 0;
  let echoed = 0;
  let api;
  const fill = () => {
    while (running && inFlight + payload.length <= window) {
      inFlight += payload.length;
      api.send();
    }
  };
  const onData = make((a) => {
    api = a;
    starters.push(fill);
    if (starters.length === total) begin();
  });
  onData((n) => {
    inFlight -= n;
    bytes += n;
    echoed += n;
    while (echoed >= payload.length) {
      echoed -= payload.length;
      messages += 1;
    }
    fill();
  });
}

function begin() {
  const start = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (const go of starters) go();
  setTimeout(() => {
    running = false;
    const cpu = process.cpuUsage(cpu0);
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    console.log(JSON.stringify({ mode, impl, messages, bytes, seconds: secs, cpu_seconds: (cpu.user + cpu.system) / 1e6 }));
    process.exit(0);
  }, Number(seconds) * 1000);
}
