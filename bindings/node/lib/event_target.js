'use strict';
const webidl = require('./webidl');
// The event half of the API: `on<type>` handler attributes plus add/removeEventListener. The
// attribute's handler runs first, then the listeners in the order they were added.
// Kept small and allocation-free on the hot path: a data event with only `ondata` set costs one
// property read and one call.

// A listener that throws must not stop the other listeners or the socket: the error is reported as
// Node reports any uncaught exception ('uncaughtException', or exit), right after this event.
function report(error) {
  process.nextTick(() => { throw error; });
}

function call(listener, target, event) {
  try {
    if (typeof listener === 'function') listener.call(target, event);
    else listener.handleEvent(event);
  } catch (error) {
    report(error);
  }
}

class Listeners {
  constructor(types) {
    this.handlers = Object.create(null);
    for (const type of types) this.handlers[type] = null;
    this.lists = null; // type -> array of listeners, made on the first addEventListener
  }

  fire(target, type, event) {
    const handler = this.handlers[type];
    if (this.lists === null) {
      if (handler !== null) call(handler, target, event);
      return;
    }
    const list = this.lists[type];
    if (handler !== null) call(handler, target, event);
    if (list === undefined) return;
    // The DOM's rule: a listener added during this dispatch waits for the next event, one removed
    // during it is not called — even if it is added again (that is a new registration).
    for (const registration of list.slice()) {
      if (!registration.removed) call(registration.listener, target, event);
    }
  }

  add(type, listener) {
    if (listener === null || listener === undefined) return;
    if (typeof listener !== 'function' && (typeof listener !== 'object' || typeof listener.handleEvent !== 'function')) {
      throw new TypeError('The listener must be a function or an object with handleEvent');
    }
    if (this.lists === null) this.lists = Object.create(null);
    const list = this.lists[type] || (this.lists[type] = []);
    if (!list.some((r) => r.listener === listener)) list.push({ listener, removed: false });
  }

  remove(type, listener) {
    const list = this.lists && this.lists[type];
    if (!list) return;
    const i = list.findIndex((r) => r.listener === listener);
    if (i >= 0) {
      list[i].removed = true;
      list.splice(i, 1);
    }
  }
}

// Defines on<type> accessors on a class's prototype; anything but a function assigned reads back
// as null, as with the DOM's EventHandler attributes.
function defineHandlers(prototype, types) {
  for (const type of types) {
    Object.defineProperty(prototype, `on${type}`, {
      configurable: true,
      enumerable: true,
      get() { return this._listeners.handlers[type]; },
      set(value) {
        this._listeners.handlers[type] = typeof value === 'function' ? value : null;
      },
    });
  }
  prototype.addEventListener = function addEventListener(type, listener) {
    webidl.requireArgs(arguments, 2, 'addEventListener');
    this._listeners.add(webidl.toStr(type), listener);
  };
  prototype.removeEventListener = function removeEventListener(type, listener) {
    webidl.requireArgs(arguments, 2, 'removeEventListener');
    this._listeners.remove(webidl.toStr(type), listener);
  };
}

module.exports = { Listeners, defineHandlers };
