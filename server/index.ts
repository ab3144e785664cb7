/**
 * `p2p-call/server`: the signaling server, embeddable in a Node app.
 *
 * ```ts
 * import { createSignalingServer } from 'p2p-call/server';
 * const server = createSignalingServer({ port: 8080 });
 * console.log(await server.listen()); // http://127.0.0.1:8080
 * ```
 */
export { createSignalingServer } from './signaling-server.js';
export type { SignalingServer, ServerStats } from './signaling-server.js';
export { ConfigError, DEFAULTS } from './config.js';
export type { SignalingServerOptions, LogLevel } from './config.js';
export { mintTurnCredentials } from './turn-credentials.js';
export { handleHealthCheck } from './http.js';
