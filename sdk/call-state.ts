/** The states of a call, in the order a call usually goes through them. */
export const CALL_STATES = [
  'idle',
  'joining',
  'waiting',
  'connecting',
  'connected',
  'reconnecting',
  'ended',
  'error',
] as const;
export type CallState = (typeof CALL_STATES)[number];

/** States after which nothing happens until a new `join()`. */
export function isFinalState(state: CallState): boolean {
  return state === 'ended' || state === 'error';
}
