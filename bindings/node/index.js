'use strict';
// The TCP Socket API of Firefox OS on Node.js (docs/node.md):
//   const { TCPSocket, TCPServerSocket, mozTCPSocket } = require('tcpsocket');
const { TCPSocket, TCPSocketEvent, TCPSocketErrorEvent } = require('./lib/tcp_socket');
const { TCPServerSocket, TCPServerSocketEvent } = require('./lib/tcp_server_socket');

// navigator.mozTCPSocket of the era A/B apps and libraries: open() and listen() as functions.
const mozTCPSocket = Object.freeze({
  open(host, port, options) {
    return new TCPSocket(...arguments);
  },
  listen(port, options, backlog) {
    return new TCPServerSocket(...arguments);
  },
});

module.exports = {
  TCPSocket,
  TCPServerSocket,
  mozTCPSocket,
  TCPSocketEvent,
  TCPSocketErrorEvent,
  TCPServerSocketEvent,
};
