'use strict';
// TCPSocket: the reference's IDL (docs/reference.md §1) over the native engine. State,
// buffering and event order all live in the engine; this class converts arguments, holds the
// handlers and turns each native event into the event object listeners receive.
const { native, Kind } = require('./native');
const { Listeners, defineHandlers } = require('./event_target');
const webidl = require('./webidl');
const { socketOptions } = require('./options');

const kAdopt = Symbol('adopt');

class TCPSocketEvent {
  constructor(type, target, data) {
    this.type = type;
    this.target = target;
    this.data = data;
  }
}

// Era C's TCPSocketErrorEvent (name, message) with era A/B's `data` (an error carrying the same
// name and message), which the libraries of that time read. Beyond the reference, `cause` is the
// failure below the name (an Error with `category`, `errno` and, for system errors, Node's
// `code` such as 'ECONNRESET'), also set as `data.cause` and its code as `data.code`.
function errorData(name, message, cause) {
  const error = cause === undefined ? new Error(message) : new Error(message, { cause });
  error.name = name;
  if (cause !== undefined && cause.code !== undefined) error.code = cause.code;
  return error;
}

class TCPSocketErrorEvent extends TCPSocketEvent {
  constructor(target, name, message, cause) {
    super('error', target, errorData(name, message, cause));
    this.name = name;
    this.message = message;
    this.cause = cause;
  }
}

class TCPSocket {
  constructor(host, port, options) {
    if (host === kAdopt) {
      // An accepted connection: `port` is its native socket, `options` the server's binaryType.
      this._init(port, options, port.host(), port.port(), false);
      port.setOwner(this);
      return;
    }
    webidl.requireArgs(arguments, 2, 'TCPSocket');
    const h = webidl.toStr(host);
    const p = webidl.port(port, 'TCPSocket');
    const o = socketOptions(options);
    this._init(null, o.binaryType, h, p, o.useSecureTransport);
    this._native = new native.Socket(this, h, p, o);
  }

  _init(nativeSocket, binaryType, host, port, ssl) {
    this._native = nativeSocket;
    this._binaryType = binaryType;
    this._host = host;
    this._port = port;
    this._listeners = new Listeners(['open', 'data', 'drain', 'error', 'close']);
    void ssl;
  }

  get host() { return this._host; }
  get port() { return this._port; }
  get ssl() { return this._native.ssl(); }
  get bufferedAmount() { return this._native.bufferedAmount(); }
  get readyState() { return this._native.readyState(); }
  get binaryType() { return this._binaryType; }

  /**
   * send(string) or send(arrayBuffer, byteOffset = 0, byteLength = rest). Overloads are chosen by
   * type, not by binaryType: anything but an ArrayBuffer is converted to a string.
   */
  send(data, byteOffset, byteLength) {
    webidl.requireArgs(arguments, 1, 'TCPSocket.send');
    if (webidl.isArrayBuffer(data)) {
      return this._native.sendBuffer(data, webidl.uint32(byteOffset === undefined ? 0 : byteOffset),
        byteLength === undefined ? undefined : webidl.uint32(byteLength));
    }
    return this._native.sendString(typeof data === 'string' ? data : webidl.toStr(data));
  }

  suspend() { this._native.suspend(); }
  resume() { this._native.resume(); }
  close() { this._native.close(); }
  closeImmediately() { this._native.closeImmediately(); }
  upgradeToSecure() { this._native.upgradeToSecure(); }

  static _adopt(nativeSocket, binaryType) {
    return new TCPSocket(kAdopt, nativeSocket, binaryType);
  }
}
defineHandlers(TCPSocket.prototype, ['open', 'data', 'drain', 'error', 'close']);

// Called by the addon with `this` = the socket or server: one call per event.
function dispatch(kind, a, b, c) {
  switch (kind) {
    case Kind.Data:
      this._listeners.fire(this, 'data', new TCPSocketEvent('data', this, a));
      break;
    case Kind.Open:
      this._listeners.fire(this, 'open', new TCPSocketEvent('open', this, undefined));
      break;
    case Kind.Drain:
      this._listeners.fire(this, 'drain', new TCPSocketEvent('drain', this, undefined));
      break;
    case Kind.Error:
      this._listeners.fire(this, 'error', new TCPSocketErrorEvent(this, a, b, c));
      break;
    case Kind.Close:
      this._listeners.fire(this, 'close', new TCPSocketEvent('close', this, undefined));
      break;
    default:
      this._serverEvent(kind, a, b, c);
  }
}
native.setDispatch(dispatch);

module.exports = { TCPSocket, TCPSocketEvent, TCPSocketErrorEvent, errorData };
