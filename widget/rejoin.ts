/**
 * After a page reload mid-call the SDK still holds the seat's resume value (sessionStorage) and
 * the server holds the seat for a few seconds (`away`). The element then skips its lobby and
 * takes the seat back by itself, with the name it had (remembered like every lobby name): the
 * other side sees a reconnect, not a departure. Where the browser blocks playback without a new
 * gesture, the element's "click to enable sound" control is the one thing to press.
 */
import { SignalingClient } from '../sdk/index.js';

/** Whether this page was reloaded during a call in `room` on `server` (its seat may still be held). */
export function hasHeldSeat(server: string, room: string): boolean {
  return SignalingClient.hasStoredSeat(server, room);
}
