/**
 * The few things the SDK needs from a WebSocket, Web Storage and fetch, declared structurally so
 * that the signaling client's types need no DOM lib: a Node consumer compiles against them with
 * `lib: ["ES2022"]`, and both the browser's `WebSocket` and the `ws` package's class fit
 * `SocketConstructor` without a cast.
 */

/**
 * A handler property whose parameter is checked bivariantly (method-style), so that `ws`'s
 * handlers, typed with its own richer event classes, still fit. The SDK only reads the fields
 * declared here.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'] | null;

export interface SocketMessageEvent {
  readonly data: unknown;
}

export interface SocketCloseEvent {
  readonly code: number;
  readonly reason: string;
}

/** One WebSocket connection, as the browser's `WebSocket` and `ws`'s class both provide it. */
export interface SignalingSocket {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** The subprotocol the server selected. */
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown>;
  onmessage: Handler<SocketMessageEvent>;
  onclose: Handler<SocketCloseEvent>;
  onerror: Handler<unknown>;
}

/** `new WebSocket(url, protocols)`: the global one in browsers, `ws`'s `WebSocket` in Node. */
export type SocketConstructor = new (url: string, protocols?: string | string[]) => SignalingSocket;

/** The part of the Web Storage API the client uses, so tests and Node can pass their own. */
export interface ResumeStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The part of `fetch` used to read `/healthz`; the global `fetch` of browsers and Node fits. */
export type HealthFetch = (url: string, init: { cache: 'no-store' }) => Promise<{ readonly ok: boolean; json(): Promise<unknown> }>;
