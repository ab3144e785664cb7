/**
 * After a page reload mid-call the SDK still holds the seat's resume value (sessionStorage) and
 * the server holds the seat for a few seconds (`away`). The element then skips its lobby and
 * takes the seat back by itself, with the name it had: the other side sees a reconnect, not a
 * departure. Where the browser blocks playback without a new gesture, the element's "click to
 * enable sound" control is the one thing to press.
 */
import { SignalingClient } from '../sdk/index.js';

const nameKey = (room: string) => `p2p-call:name:${room}`;

/** Whether this page was reloaded during a call in `room` on `server` (its seat may still be held). */
export function hasHeldSeat(server: string, room: string): boolean {
  return SignalingClient.hasStoredSeat(server, room);
}

/** Remembers the display name used for `room` in this tab, for a rejoin after a reload. */
export function rememberName(room: string, name: string): void {
  try {
    if (name) sessionStorage.setItem(nameKey(room), name);
  } catch {
    // No storage (sandboxed iframe): the lobby asks again.
  }
}

export function rememberedName(room: string): string | undefined {
  try {
    return sessionStorage.getItem(nameKey(room)) ?? undefined;
  } catch {
    return undefined;
  }
}
