/**
 * Fuzzing plumbing shared by the short run in `npm test` and the long soak: fast-check
 * arbitraries for client frames (valid, mutated, hostile) and the server invariants checked
 * after each run.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { SignalingServer } from '../../server/index.js';

export const ROOMS = ['a', 'b', 'c'] as const;

const hostileKeys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'type', 'data');
const anyJson = fc.jsonValue({ maxDepth: 4 });

/** A value that is almost a client message: right shape, one thing wrong (or nothing). */
const message = fc.oneof(
  fc.record({ type: fc.constant('join'), room: fc.oneof(fc.constantFrom(...ROOMS), fc.string({ maxLength: 80 })) }),
  fc.record({ type: fc.constant('join'), room: fc.constantFrom(...ROOMS), resume: fc.oneof(fc.string(), anyJson) }),
  fc.record({ type: fc.constant('join'), room: anyJson, token: anyJson }),
  fc.record({ type: fc.constant('signal'), data: fc.dictionary(fc.oneof(fc.string(), hostileKeys), anyJson, { maxKeys: 5 }) }),
  fc.record({ type: fc.constant('signal'), data: anyJson }),
  fc.record({ type: fc.constantFrom('leave', 'ping') }),
  fc.record({ type: fc.oneof(fc.string(), anyJson) }),
  fc.dictionary(hostileKeys, anyJson),
);

/** One frame as sent on the wire: text (JSON or not), binary, fragmented, or too long to parse cheaply. */
export const frame = fc.oneof(
  { weight: 6, arbitrary: message.map((value) => ({ kind: 'text' as const, text: JSON.stringify(value) })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((text) => ({ kind: 'text' as const, text })) },
  { weight: 1, arbitrary: message.map((value) => ({ kind: 'text' as const, text: JSON.stringify(value).slice(0, -1) })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'binary' as const, bytes })) },
  { weight: 1, arbitrary: message.map((value) => ({ kind: 'fragmented' as const, text: JSON.stringify(value) })) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => ({ kind: 'text' as const, text: JSON.stringify({ type: 'signal', data: { s: 'x'.repeat(n) } }) })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'drop' as const }) },
);
export type Frame = typeof frame extends fc.Arbitrary<infer T> ? T : never;

interface StoredSeat {
  peerId: string;
  link: string;
  heldUntil: number;
}

/** The in-memory store's rooms and the server's open sockets, read from the inside (tests only). */
function inside(server: SignalingServer) {
  const impl = server as unknown as {
    store: { rooms: Map<string, { seats: StoredSeat[] }>; expiries: Map<string, unknown> };
    connections: Set<{ id: string; socket: { readyState: number } }>;
  };
  return { rooms: impl.store.rooms, expiries: impl.store.expiries, connections: impl.connections };
}

/**
 * The invariants after any sequence of frames: at most two seats per room, every live seat owned
 * by an open socket of this server, every held seat inside its grace with an expiry running.
 */
export function checkInvariants(server: SignalingServer, graceMs: number): void {
  const { rooms, expiries, connections } = inside(server);
  const open = new Set([...connections].filter((c) => c.socket.readyState <= 1).map((c) => c.id));
  for (const [room, { seats }] of rooms) {
    assert.ok(seats.length >= 1 && seats.length <= 2, `room ${room} has ${seats.length} seats`);
    assert.notEqual(seats[0]?.peerId, seats[1]?.peerId);
    for (const seat of seats) {
      if (seat.link !== '') {
        assert.ok(open.has(seat.link), `room ${room}: seat ${seat.peerId} names a socket that is gone`);
      } else {
        assert.ok(seat.heldUntil <= Date.now() + graceMs + 50, `room ${room}: held seat ${seat.peerId} beyond its grace`);
        assert.ok(expiries.has(`${room}\n${seat.peerId}`), `room ${room}: held seat ${seat.peerId} has no expiry running`);
      }
    }
  }
}
