'use strict';
// The echo server a user of the binding writes: ArrayBuffers, suspend while send() says full.
// Prints "listening on 127.0.0.1:PORT" like `tcpsocket listen`. Used by bench/node_bench.py.
const { TCPServerSocket } = require('../../bindings/node');

const server = new TCPServerSocket(0, { localAddress: '127.0.0.1', binaryType: 'arraybuffer' }, 1024);
server.onconnect = ({ socket }) => {
  let full = false;
  socket.ondata = ({ data }) => {
    if (!socket.send(data) && !full) {
      full = true;
      socket.suspend();
    }
  };
  socket.ondrain = () => {
    if (full) {
      full = false;
      socket.resume();
    }
  };
  socket.onerror = () => {};
};
console.log(`listening on 127.0.0.1:${server.localPort}`);
process.on('SIGTERM', () => process.exit(0));
