/**
 * `p2p-call`: the client SDK, usable without any UI.
 *
 * ```ts
 * import { Call } from 'p2p-call';
 * const call = new Call({ server: 'wss://calls.example.com/ws', room: 'standup-42' });
 * call.on('remote-stream', (stream) => (video.srcObject = stream));
 * await call.join();
 * ```
 */
export { Call } from './call.js';
export type { CallEvents, CallOptions, RemoteMediaState } from './call.js';
export { CALL_STATES, isFinalState } from './call-state.js';
export type { CallState } from './call-state.js';
export { SignalingClient, healthUrlFor } from './signaling-client.js';
export type { ReconnectOptions, ResumeStorage, SignalingClientOptions, SignalingEvents, SignalingState } from './signaling-client.js';
export type { HealthFetch, SignalingSocket, SocketCloseEvent, SocketConstructor, SocketMessageEvent } from './socket-types.js';
export type { EventName, Listener } from './emitter.js';
export { CallError, CLIENT_ERROR_CODES, ERROR_TABLE, isExplainedCode, isFatalCode } from './errors.js';
export type { CallErrorCode, ClientErrorCode, ExplainedErrorCode } from './errors.js';
export type { CallStats, CandidateType, Quality } from './connection-stats.js';
export type { MediaState } from './peer-messages.js';
export { MAX_CHAT_LENGTH } from './peer-messages.js';
export { mediaError } from './local-media.js';
export type { LocalMediaOptions } from './local-media.js';
export * from './protocol.js';
