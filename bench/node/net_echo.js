'use strict';
// The same echo server on Node's own `net`, written the idiomatic way (pipe handles backpressure).
const net = require('node:net');

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  socket.pipe(socket);
});
server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
