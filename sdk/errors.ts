/**
 * Typed errors of the SDK: the protocol's error codes plus what only a client can observe.
 * Every error says whether it ends the call (`fatal`), so a UI needs no table of its own.
 */
import type { ErrorCode } from './protocol.js';

/** Codes that only the client side produces. */
export const CLIENT_ERROR_CODES = [
  'server-unreachable',
  'invalid-room',
  'server-closed',
  'unsupported-protocol',
  'timeout',
  'ice-failed',
  'media-denied',
  'media-unavailable',
  'message-too-long',
  'not-joined',
] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/**
 * Every code a {@link CallError} (and the element's `p2p-error`) carries: a closed union, so a
 * misspelt code in a comparison or a `switch` does not compile. A newer server may still send a
 * code this version does not list; it arrives as is, non-fatal, so keep a `default` branch.
 */
export type CallErrorCode = ErrorCode | ClientErrorCode;

/**
 * The one table of error codes: whether a code ends the call (`fatal`) and whether a UI has a
 * message of its own for it (`explained`: the widget's string `error.<code>`; others show a
 * generic one). The SDK, the element and its translations all read this table.
 * Any code not listed here (e.g. from a newer server) is not fatal and not explained.
 */
export const ERROR_TABLE = {
  'room-full': { fatal: true, explained: true },
  'invalid-room': { fatal: true, explained: true },
  'server-closed': { fatal: true, explained: true },
  unauthorized: { fatal: true, explained: true },
  'server-unreachable': { fatal: true, explained: true },
  'unsupported-protocol': { fatal: true, explained: true },
  'server-busy': { fatal: true, explained: true },
  'session-replaced': { fatal: true, explained: true },
  'ice-failed': { fatal: true, explained: true },
  timeout: { fatal: true, explained: true },
  'media-denied': { fatal: false, explained: true },
  'media-unavailable': { fatal: false, explained: true },
  'message-too-long': { fatal: false, explained: true },
  'not-joined': { fatal: false, explained: true },
  'invalid-message': { fatal: false, explained: false },
  'already-joined': { fatal: false, explained: false },
  'not-in-room': { fatal: false, explained: false },
  'peer-absent': { fatal: false, explained: false },
  'invalid-resume': { fatal: false, explained: false },
  'rate-limited': { fatal: false, explained: false },
  'server-shutdown': { fatal: false, explained: false },
} as const satisfies Record<CallErrorCode, { fatal: boolean; explained: boolean }>;

type ErrorTable = typeof ERROR_TABLE;
/** Codes a UI has its own message for. */
export type ExplainedErrorCode = { [C in keyof ErrorTable]: ErrorTable[C]['explained'] extends true ? C : never }[keyof ErrorTable];

function entry(code: string): { fatal: boolean; explained: boolean } | undefined {
  return Object.hasOwn(ERROR_TABLE, code) ? ERROR_TABLE[code as CallErrorCode] : undefined;
}

/** Codes after which the call cannot go on by itself; anything else (and any unknown code) is not fatal. */
export function isFatalCode(code: string): boolean {
  return entry(code)?.fatal ?? false;
}

/** True when a UI has a message of its own for `code` (see {@link ERROR_TABLE}). */
export function isExplainedCode(code: string): code is ExplainedErrorCode {
  return entry(code)?.explained ?? false;
}

export class CallError extends Error {
  override name = 'CallError';
  readonly code: CallErrorCode;
  readonly fatal: boolean;
  /** From the server's `error` frame, when it told the client when to try again. */
  readonly retryAfterMs: number | undefined;

  constructor(code: CallErrorCode | (string & {}), message: string, options: { cause?: unknown; retryAfterMs?: number; fatal?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    // A newer server's unlisted code passes through as is (see CallErrorCode).
    this.code = code as CallErrorCode;
    this.fatal = options.fatal ?? isFatalCode(code);
    this.retryAfterMs = options.retryAfterMs;
  }
}
