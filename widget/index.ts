/** `p2p-call/widget`: the `<p2p-call>` element class, without registering it. */
export { P2PCall } from './p2p-call.js';
export { P2PCallEvent } from './events.js';
export type { P2PCallState, P2PEventDetails, P2PEventName } from './events.js';
export { LANGUAGES, resolveLanguage } from './i18n.js';
export type { StringKey, Strings, Translation } from './i18n.js';
