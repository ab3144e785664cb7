/**
 * The lobby's early "room full" check: `GET /rooms/<room>` on the signaling server's origin
 * answers `{ occupancy, capacity }` (docs/server.md). Best effort: any failure (an older server,
 * a token-only deployment, no network) means "unknown", and the join still handles the race.
 */
export async function roomIsFull(server: string, room: string, signal: AbortSignal): Promise<boolean> {
  try {
    const url = new URL(`/rooms/${encodeURIComponent(room)}`, server);
    url.protocol = url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : url.protocol;
    const response = await fetch(url, { signal, cache: 'no-store', credentials: 'omit' });
    if (!response.ok) return false;
    const body = (await response.json()) as { occupancy?: unknown; capacity?: unknown };
    return typeof body.occupancy === 'number' && typeof body.capacity === 'number' && body.occupancy >= body.capacity;
  } catch {
    return false;
  }
}
