'use strict';
// TCPServerSocket: listens at construction; each accepted connection arrives, already open, as
// the `socket` of a `connect` event.
const { native, Kind } = require('./native');
const { Listeners, defineHandlers } = require('./event_target');
const webidl = require('./webidl');
const { serverOptions } = require('./options');
const { TCPSocket, errorData } = require('./tcp_socket');

class TCPServerSocketEvent {
  constructor(type, target, socket) {
    this.type = type;
    this.target = target;
    this.socket = socket;
  }
}

class TCPServerSocket {
  constructor(port, options, backlog) {
    webidl.requireArgs(arguments, 1, 'TCPServerSocket');
    const p = webidl.port(port, 'TCPServerSocket');
    const o = serverOptions(options);
    this._binaryType = o.binaryType;
    this._listeners = new Listeners(['connect', 'error']);
    this._native = new native.Server(this, p, o, webidl.uint16(backlog === undefined ? 0 : backlog));
    this._localPort = this._native.localPort();
  }

  get localPort() { return this._localPort; }

  close() { this._native.close(); }

  /** The engine's counters (accepted, open, refused, handshake failures...). An extension. */
  stats() { return this._native.stats(); }

  _serverEvent(kind, a, b, c) {
    if (kind === Kind.Connect) {
      const socket = TCPSocket._adopt(a, this._binaryType);
      this._listeners.fire(this, 'connect', new TCPServerSocketEvent('connect', this, socket));
    } else if (kind === Kind.ServerError) {
      const event = new TCPServerSocketEvent('error', this, undefined);
      event.name = a;
      event.message = b;
      event.cause = c;
      event.data = errorData(a, b, c);
      this._listeners.fire(this, 'error', event);
    }
  }
}
defineHandlers(TCPServerSocket.prototype, ['connect', 'error']);

module.exports = { TCPServerSocket, TCPServerSocketEvent };
