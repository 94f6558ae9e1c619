// The TCP Socket API of Firefox OS on Node.js, on the tcpsocket C++ engine.
// Semantics: docs/reference.md (the reference), docs/semantics.md (our rules and deviations) and
// docs/node.md (this binding, its differences).

export type TCPReadyState = 'connecting' | 'open' | 'closing' | 'closed';
export type TCPSocketBinaryType = 'string' | 'arraybuffer';

/** TLS settings shared by clients and servers (engine extensions unless marked). */
export interface TLSOptions {
  /** Trusted CA certificates, PEM text (or several, as an array). Replaces the system store. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Public-key pins, 'sha256/BASE64' each: the chain must contain one of them. */
  pins?: string[];
  /** Lowest TLS version accepted. Default 'TLSv1.2'. */
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** ALPN protocols offered (client) or accepted (server), in order of preference. */
  alpnProtocols?: string[];
  /** Certificate chain, PEM: a server's certificate, or a client certificate. */
  cert?: string | Buffer;
  /** The private key of `cert`, PEM. */
  key?: string | Buffer;
  /** Milliseconds a TLS handshake may take before the connection fails (1 to 2^31-1). Default 5000. */
  handshakeTimeout?: number;
}

/** How the connection itself behaves (engine extensions). */
export interface ConnectionOptions {
  /** TCP_NODELAY. Default true. */
  noDelay?: boolean;
  /** TCP keep-alive probes: true for the defaults (60 s idle, 10 s interval, 6 probes). */
  keepAlive?: boolean | { idle?: number; interval?: number; count?: number };
  /** TCP_USER_TIMEOUT, milliseconds: unacknowledged data older than this fails the connection. */
  userTimeout?: number;
  /** Milliseconds without any byte in either direction before the connection fails. 0: never. */
  idleTimeout?: number;
  /**
   * A hard cap on bufferedAmount: a send() that would exceed it queues nothing and returns false,
   * and the socket fails (`error` BufferOverflowError, then `close`). 0: none, as in the reference.
   * Otherwise at least 65536 (TypeError below that).
   */
  maxBufferedAmount?: number;
  /** Path of a Firefox OS app manifest whose tcp-socket permission every open()/listen() is checked against. */
  manifest?: string;
}

export interface SocketOptions extends TLSOptions, ConnectionOptions {
  /** (reference) TLS from the first byte. The certificate is checked against `host`. */
  useSecureTransport?: boolean;
  /** (reference) How `data` events carry bytes. Default 'string' (one char per byte). */
  binaryType?: TCPSocketBinaryType;
  /** The name sent in SNI and checked in the certificate, when not `host`. */
  servername?: string;
  /** Milliseconds to wait for the connection (all addresses) before `error`. 0: the system's. */
  connectTimeout?: number;
  /** Accept any certificate. For tests only: it makes TLS worthless against an attacker. */
  dangerouslyAcceptAnyCertificate?: boolean;
}

export interface ServerSocketOptions extends TLSOptions, ConnectionOptions {
  /** (reference) binaryType of the accepted sockets. Default 'string'. */
  binaryType?: TCPSocketBinaryType;
  /** (reference) The address to listen on. Default '0.0.0.0'. */
  localAddress?: string;
  /** A TLS server: `cert` and `key` are required. */
  useSecureTransport?: boolean;
  /** TLS servers: require a client certificate signed by `ca`. */
  requestCert?: boolean;
  /** Open accepted connections at most; accepting pauses at the limit. 0: no limit. */
  maxConnections?: number;
  /** Open connections per client address at most; more are reset at once. 0: no limit. */
  maxConnectionsPerAddress?: number;
  /** SO_REUSEPORT, for several processes on one port. */
  reusePort?: boolean;
}

export interface TCPSocketEvent {
  readonly type: 'open' | 'data' | 'drain' | 'close' | 'error';
  readonly target: TCPSocket;
  /** A string or an ArrayBuffer (binaryType) for `data`; the error for `error`; else undefined. */
  readonly data: string | ArrayBuffer | TCPSocketError | undefined;
}

/** The era A/B error object, found as `event.data` of an error event. */
/**
 * An extension: the failure below an error's name. `message` is the cause's own text
 * ('Connection reset by peer', 'wrong version number', 'certificate has expired').
 */
export interface TCPSocketErrorCause extends Error {
  /** The layer: 'system' (an errno), 'asio.netdb' / 'asio.addrinfo' (the resolver), 'openssl', 'x509'. */
  category: string;
  /** The number within the category (errno, OpenSSL error code, X509_V_ERR_*). */
  errno: number;
  /** For 'system' only: the errno's name, as Node's own errors have it ('ECONNRESET'). */
  code?: string;
}

export interface TCPSocketError extends Error {
  /** e.g. 'ConnectionRefusedError', 'NetworkError', 'SecurityCertificateDomainMismatchError'. */
  name: string;
  message: string;
  /** The cause's `code`, when it has one ('ECONNREFUSED'). */
  code?: string;
  cause?: TCPSocketErrorCause;
}

export interface TCPSocketErrorEvent extends TCPSocketEvent {
  readonly type: 'error';
  readonly data: TCPSocketError;
  /** (era C) The error's name, as in data.name. */
  readonly name: string;
  /** (era C) The error's class: 'Network', 'SecurityCertificate' or 'SecurityProtocol'. */
  readonly message: string;
  /** An extension: what failed below the name; undefined when nothing did (a policy denial). */
  readonly cause: TCPSocketErrorCause | undefined;
}

export interface TCPServerSocketEvent {
  readonly type: 'connect' | 'error';
  readonly target: TCPServerSocket;
  /** The accepted connection, already open (`connect` only). */
  readonly socket: TCPSocket;
}

type Listener<E> = ((event: E) => void) | { handleEvent(event: E): void };

export class TCPSocket {
  /**
   * Opens a connection at once; `open` or `error` + `close` follow.
   * @throws TypeError for a port outside 0-65535, a host with a NUL character, or an option of the
   *   wrong type or range; a DOMException named after the engine's error when the option has the
   *   right type but cannot be used ('TLSConfigurationError': an unreadable certificate, a
   *   malformed pin; 'ManifestError'; 'SecurityError': the app's manifest does not allow it).
   */
  constructor(host: string, port: number, options?: SocketOptions);
  /** The host as opened (the peer's address for an accepted socket). */
  readonly host: string;
  readonly port: number;
  /** True with useSecureTransport, and from the moment upgradeToSecure() returns. */
  readonly ssl: boolean;
  /** Bytes accepted by send() and not yet handed to the operating system. */
  readonly bufferedAmount: number;
  readonly readyState: TCPReadyState;
  readonly binaryType: TCPSocketBinaryType;

  /**
   * Queues bytes; returns false once bufferedAmount + this length exceeds 64 KiB (the data is
   * queued all the same), and `drain` fires when everything has been written.
   * A string sends one byte per char; a char above U+00FF throws TypeError. Anything that is not an
   * ArrayBuffer (a Uint8Array too) is converted to a string first, as the reference does.
   * @throws DOMException 'InvalidStateError' unless readyState is 'open'.
   */
  send(data: string): boolean;
  send(data: ArrayBuffer, byteOffset?: number, byteLength?: number): boolean;
  /** Stops `data` (and a peer's close) until the same number of resume() calls. */
  suspend(): void;
  /** @throws DOMException 'InvalidStateError' when not suspended. */
  resume(): void;
  /** Sends what is queued, then closes; `close` follows. A no-op once closing or closed. */
  close(): void;
  /** Drops what is queued and closes at once. */
  closeImmediately(): void;
  /** STARTTLS: queued plaintext first, then the handshake; the certificate is checked against `host`. */
  upgradeToSecure(): void;

  onopen: ((event: TCPSocketEvent) => void) | null;
  ondata: ((event: TCPSocketEvent) => void) | null;
  ondrain: ((event: TCPSocketEvent) => void) | null;
  onerror: ((event: TCPSocketErrorEvent) => void) | null;
  onclose: ((event: TCPSocketEvent) => void) | null;
  addEventListener(type: 'open' | 'data' | 'drain' | 'close', listener: Listener<TCPSocketEvent>): void;
  addEventListener(type: 'error', listener: Listener<TCPSocketErrorEvent>): void;
  removeEventListener(type: string, listener: Listener<any>): void;
}

export class TCPServerSocket {
  /**
   * Listens at once. `backlog` is converted as the IDL's unsigned short (-1 means 65535).
   * @throws DOMException 'AddressInUseError', 'AddressNotAvailableError', 'PermissionDeniedError',
   *   'InvalidAddressError', 'TLSConfigurationError', 'ManifestError', 'SecurityError'; TypeError
   *   for a bad port or an option of the wrong type or range.
   */
  constructor(port: number, options?: ServerSocketOptions, backlog?: number);
  /** The port listened on (the one chosen by the system for port 0). */
  readonly localPort: number;
  /** Stops listening; accepted sockets stay open. */
  close(): void;
  /** The engine's counters (extension). */
  stats(): {
    accepted: number; open: number; refusedPerAddress: number; pausesAtLimit: number;
    descriptorBackoffs: number; handshakeFailures: number; paused: boolean;
  };
  onconnect: ((event: TCPServerSocketEvent) => void) | null;
  onerror:
    | ((
        event: TCPServerSocketEvent & {
          name: string;
          message: string;
          cause: TCPSocketErrorCause | undefined;
        },
      ) => void)
    | null;
  addEventListener(type: 'connect' | 'error', listener: Listener<TCPServerSocketEvent>): void;
  removeEventListener(type: string, listener: Listener<any>): void;
}

/** navigator.mozTCPSocket of the Firefox OS apps and the libraries written for them. */
export const mozTCPSocket: {
  open(host: string, port: number, options?: SocketOptions): TCPSocket;
  listen(port: number, options?: ServerSocketOptions, backlog?: number): TCPServerSocket;
};
