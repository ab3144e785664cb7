/**
 * One client address cannot fill the server with held seats: join, drop, join another room…
 * Seats held after a drop count against the address until their grace period ends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientFor, serverFor, TestClient } from './helpers.js';

test('an address holds at most maxConnectionsPerIp seats, live or held', async (t) => {
  const running = await serverFor(t, { maxConnectionsPerIp: 2, reconnectGraceMs: 60_000 });
  for (const room of ['one', 'two']) {
    const client = await TestClient.connect(running.wsUrl);
    await client.join(room);
    client.drop(); // the seat is held for the grace period
    await client.closed;
  }
  const third = await clientFor(t, running.wsUrl);
  third.send({ type: 'join', room: 'three' });
  const refused = await third.nextError('server-busy');
  assert.equal(refused.ref, 'join');
  assert.ok((refused.retryAfterMs ?? 0) > 0);
  assert.equal(running.server.stats().rooms, 2, 'no third room was created');
});

test('a seat freed by leave no longer counts against the address', async (t) => {
  const running = await serverFor(t, { maxConnectionsPerIp: 1 });
  const client = await clientFor(t, running.wsUrl);
  await client.join('first');
  client.send({ type: 'leave' });
  await client.join('second');
});
