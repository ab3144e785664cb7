/**
 * Every user-visible string. English is built in and complete by type; the other shipped
 * languages (`SHIPPED`) live in `./lang/<tag>.js` and are loaded only when a page uses them,
 * so the script-tag bundle carries English only. A table may leave strings out: they fall
 * back to English. Host pages add a language or override strings with `addLanguage()`
 * (also `P2PCall.addLanguage`) or per element with the `strings` property.
 */
import type { ExplainedErrorCode } from '../sdk/index.js';

const en = {
  join: 'Join call',
  joinAs: 'Your name',
  rejoin: 'Rejoin',
  retry: 'Try again',
  hangup: 'Leave call',
  muteMicrophone: 'Mute microphone',
  unmuteMicrophone: 'Unmute microphone',
  stopCamera: 'Turn off camera',
  startCamera: 'Turn on camera',
  shareScreen: 'Share screen',
  stopSharing: 'Stop sharing',
  fullscreen: 'Full screen',
  exitFullscreen: 'Exit full screen',
  controls: 'Call controls',
  close: 'Close',
  pictureInPicture: 'Picture in picture',
  exitPictureInPicture: 'Exit picture in picture',
  chat: 'Chat',
  chatUnread: 'Chat, {n} unread',
  chatEmpty: 'No messages yet. Messages are only seen by the two of you.',
  newMessage: 'New message from {name}',
  settings: 'Devices',
  send: 'Send',
  messagePlaceholder: 'Message',
  camera: 'Camera',
  microphone: 'Microphone',
  speaker: 'Speaker',
  micLevel: 'Microphone level',
  you: 'You',
  them: 'Them',
  noRoom: 'No room was given to this call.',
  lobbyTitle: 'Ready to join?',
  lobbyFull: 'This call already has two people. You can join once one of them leaves.',
  joining: 'Joining…',
  waiting: 'Waiting for the other person to join',
  copyLink: 'Copy invite link',
  copied: 'Link copied',
  copyFailed: 'Could not copy: copy the link below',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  peerAway: 'The other person dropped out. Waiting for them to come back…',
  ended: 'You left the call.',
  peerLeft: 'The other person left.',
  muted: 'Muted',
  cameraIsOff: 'Camera off',
  enableSound: 'Click to enable sound',
  qualityGood: 'Good connection',
  qualityFair: 'Fair connection',
  qualityPoor: 'Poor connection',
  frameBlocked: 'This page embeds the call in a frame that may not use the camera and microphone. Site owner: add allow="camera; microphone; display-capture; fullscreen" to the <iframe>. You can still see and hear the other person.',
  'error.media-denied': 'Camera and microphone are blocked. Allow them from the icon in the address bar, then rejoin. You can still see and hear the other person.',
  'error.media-unavailable': 'No camera or microphone could be opened: it may be missing or in use by another app.',
  'error.room-full': 'This call already has two people. Try again once one of them has left, or start a new call.',
  'error.unauthorized': 'This link or token is not valid (any more). Ask for a new link.',
  'error.server-unreachable': 'Cannot reach the call server. Check your connection and try again.',
  'error.unsupported-protocol': 'This page’s call widget and the call server are not compatible. Reload the page.',
  'error.server-busy': 'The call server is busy. Try again in a moment.',
  'error.session-replaced': 'The call continued in another tab or window.',
  'error.ice-failed': 'No network path to the other person (a firewall may block calls). Try again, or another network.',
  'error.timeout': 'That took too long. Try again.',
  'error.invalid-room': 'This call link has an invalid room name (use letters, digits, - and _).',
  'error.server-closed': 'The call server closed the connection unexpectedly. Rejoin; if it happens again, report it.',
  'error.message-too-long': 'That message is too long to send.',
  'error.not-joined': 'Nobody is here yet to receive your message.',
  'error.unknown': 'Something went wrong. Try again.',
} satisfies Record<`error.${ExplainedErrorCode}`, string> & Record<string, string>;

export type Strings = typeof en;
export type StringKey = keyof Strings;
/** A language's table: any subset of the English keys (missing ones fall back to English). */
export type Translation = Partial<Record<StringKey, string>>;

/** Languages that ship with the element, each in its own lazily loaded module. */
const SHIPPED = ['zh-CN', 'de', 'es', 'fr', 'ja', 'pt-BR'];

const tables = new Map<string, Translation>([['en', en]]);
/**
 * This module's URL, read while the script runs: in the IIFE bundle rollup derives it from
 * `document.currentScript`, which is null later. A classic script's `import()` would resolve
 * against the page, so languages are always resolved against this URL explicitly.
 */
const base = import.meta.url;
const loads = new Map<string, Promise<void>>();

/** Every language with a table: English, the shipped ones and any added by the page. */
export const LANGUAGES: readonly string[] = ['en', ...SHIPPED];

function known(): string[] {
  return [...new Set([...LANGUAGES, ...tables.keys()])];
}

/** The table for a BCP 47 tag: exact (any case), then by primary language, then English. */
export function resolveLanguage(tag: string | null | undefined): string {
  if (!tag) return 'en';
  const all = known();
  const lower = tag.toLowerCase();
  const exact = all.find((lang) => lang.toLowerCase() === lower);
  if (exact) return exact;
  const primary = lower.split('-')[0];
  // Every other zh-* (zh-TW, zh-HK too, until a Traditional table exists) reads zh-CN better
  // than English; pt-PT reads pt-BR better than English.
  return all.find((lang) => lang.toLowerCase().split('-')[0] === primary) ?? 'en';
}

/**
 * Adds a language, or overrides strings of one (English included), for every element on the
 * page. Elements showing that language update on their next render.
 */
export function addLanguage(tag: string, strings: Translation): void {
  tables.set(tag, { ...tables.get(tag), ...strings });
  if (!LANGUAGES.includes(tag)) (LANGUAGES as string[]).push(tag);
}

/**
 * Loads a shipped language's table if it is not loaded yet. Resolves when it is there (or
 * could not be loaded: English then stays). A table added by the page wins over the shipped one.
 */
export function loadLanguage(tag: string): Promise<void> {
  const lang = resolveLanguage(tag);
  if (!SHIPPED.includes(lang)) return Promise.resolve();
  let load = loads.get(lang);
  if (!load) {
    // Relative to this module: dist/widget/lang/ for npm, /lang/ next to the script-tag bundle.
    load = import(/* @vite-ignore */ new URL(`./lang/${lang}.js`, base).href).then(
      (module: { default: Translation }) => tables.set(lang, { ...module.default, ...tables.get(lang) }),
      () => undefined,
    ).then(() => undefined);
    loads.set(lang, load);
  }
  return load;
}

/** A translator for one language, with optional per-element overrides. */
export function translator(lang: string, overrides?: Translation): (key: StringKey) => string {
  const table = tables.get(resolveLanguage(lang)) ?? en;
  const english = tables.get('en') ?? en;
  return (key) => overrides?.[key] ?? table[key] ?? english[key] ?? en[key];
}
