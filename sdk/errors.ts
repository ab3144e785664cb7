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


/** Codes after which the call cannot go on by itself; anything else (and any unknown code) is not fatal. */
const FATAL: ReadonlySet<string> = new Set<CallErrorCode>([
  'room-full',
  'invalid-room',
  'server-closed',
  'unauthorized',
  'server-unreachable',
  'unsupported-protocol',
  'server-busy',
  'session-replaced',
  'ice-failed',
  'timeout',
]);

export function isFatalCode(code: string): boolean {
  return FATAL.has(code);
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
