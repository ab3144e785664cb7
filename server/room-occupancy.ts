/**
 * `GET /rooms/<room>` → `{ "room", "occupancy", "capacity" }`: lets a lobby say "this call is
 * full" before the visitor fills in the form (the join still handles the race). Answered
 * only when the server is given an `occupancy` lookup (see RequestHandlerOptions); kept apart
 * from the room store so any store (in memory, Redis) can provide it.
 */
import type { ServerResponse } from 'node:http';

/** How many seats of `room` are taken (0 for a room nobody is in). */
export type OccupancyLookup = (room: string) => Promise<number>;

/** A call has two seats. */
export const ROOM_CAPACITY = 2;

export const OCCUPANCY_ROUTE = /^\/rooms\/([A-Za-z0-9_-]{1,64})$/;

export async function answerOccupancy(res: ServerResponse, room: string, lookup: OccupancyLookup): Promise<void> {
  const occupancy = Math.max(0, Math.min(ROOM_CAPACITY, await lookup(room)));
  const json = JSON.stringify({ room, occupancy, capacity: ROOM_CAPACITY });
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(json),
    // Asked by embedding pages on any origin; never cached: it changes as people come and go.
    'Access-Control-Allow-Origin': '*',
    'Cache-Control': 'no-store',
  });
  res.end(json);
}
