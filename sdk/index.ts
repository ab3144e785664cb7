/**
 * `p2p-call`: the client SDK. For now this entry exports the wire protocol (types and
 * validators); `Call` and `SignalingClient` arrive with the SDK issue.
 */
export * from './protocol.js';
