/**
 * `p2p-call/signaling`: the signaling client on its own, for Node programs and bots. Its types
 * need no DOM lib (the WebSocket, storage and fetch it takes are declared structurally), so a
 * consumer with `lib: ["ES2022"]` and `skipLibCheck: false` compiles against it; `ws`'s
 * `WebSocket` is accepted as it is.
 *
 * ```ts
 * import WebSocket from 'ws';
 * import { SignalingClient } from 'p2p-call/signaling';
 * const client = new SignalingClient({ url: 'wss://calls.example.com/ws', room: 'standup-42', WebSocket, storage: null });
 * ```
 */
export { SignalingClient, healthUrlFor } from './signaling-client.js';
export type { ReconnectOptions, ResumeStorage, SignalingClientOptions, SignalingEvents, SignalingState } from './signaling-client.js';
export type { HealthFetch, SignalingSocket, SocketCloseEvent, SocketConstructor, SocketMessageEvent } from './socket-types.js';
export { CallError, CLIENT_ERROR_CODES, isFatalCode } from './errors.js';
export type { CallErrorCode, ClientErrorCode } from './errors.js';
export type { EventName, Listener } from './emitter.js';
export * from './protocol.js';
