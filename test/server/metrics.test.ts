/** `GET /metrics`: Prometheus text from prom-client, counted as the protocol runs, optionally behind a token. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createSignalingServer } from '../../server/index.js';
import { capturingLogger, harness, httpGet } from './helpers.js';

/** The value of a sample line `name{labels} value` (labels matched as a substring). */
function sample(body: string, name: string, labels = ''): number | undefined {
  const line = body.split('\n').find((row) => row.startsWith(name) && !row.startsWith('#') && row.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('/metrics counts connections, rooms, held seats, joins by result and relayed signals', async (t) => {
  const h = await harness(t, { reconnectGraceMs: 60_000 });
  const [a, b] = await h.pair();
  a.client.send({ type: 'signal', data: { n: 1 } });
  await b.client.next('signal');
  const third = await h.connect();
  third.send({ type: 'join', room: 'room' });
  await third.nextError('room-full');
  b.client.drop();
  await a.client.next('peer-disconnected');

  const res = await httpGet(`${h.httpUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const body = res.body;
  assert.equal(sample(body, 'p2p_call_connections'), 2);
  assert.equal(sample(body, 'p2p_call_rooms'), 1);
  assert.equal(sample(body, 'p2p_call_seats_held'), 1);
  assert.equal(sample(body, 'p2p_call_joins_total', 'result="joined"'), 2);
  assert.equal(sample(body, 'p2p_call_joins_total', 'result="room-full"'), 1);
  assert.equal(sample(body, 'p2p_call_signals_relayed_total'), 1);
  assert.equal(sample(body, 'p2p_call_relay_latency_seconds_count'), 1);
  assert.ok(sample(body, 'p2p_call_store_errors_total') === undefined || sample(body, 'p2p_call_store_errors_total') === 0);
  assert.ok(sample(body, 'process_cpu_user_seconds_total') !== undefined, 'default process metrics');
  assert.match(body, /node="[0-9a-f]+"/, 'every sample names its node');
});

test('/metrics with a token answers 401 without it and 200 with it; the token never appears in it', async (t) => {
  const token = 'metrics-token-0123456789abcdef';
  const h = await harness(t, { metricsToken: token, tokenSecret: 'join-token-secret-0123456789' });
  const refused = await httpGet(`${h.httpUrl}/metrics`);
  assert.equal(refused.status, 401);
  assert.equal((await httpGet(`${h.httpUrl}/metrics`, { Authorization: 'Bearer wrong-token-0123456789abcdef' })).status, 401);
  const allowed = await httpGet(`${h.httpUrl}/metrics`, { Authorization: `Bearer ${token}` });
  assert.equal(allowed.status, 200);
  assert.ok(!allowed.body.includes(token));
  assert.ok(!allowed.body.includes('join-token-secret'));
});

test('an app that attaches the server reaches its registry and its /metrics handler', async (t) => {
  const app = createServer((req, res) => {
    if (signaling.handleMetrics(req, res)) return;
    res.end('host app');
  });
  const signaling = createSignalingServer({ server: app, logLevel: 'silent' });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    await signaling.close();
    await new Promise((resolve) => app.close(resolve));
  });
  const base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  assert.match((await httpGet(`${base}/metrics`)).body, /p2p_call_connections/);
  assert.match(await signaling.metrics.metrics(), /p2p_call_joins_total/);
  assert.equal((await httpGet(`${base}/other`)).body, 'host app');
});

test('logs carry the node id, connection and room, never the join token or signal content', async (t) => {
  const { logger, lines } = capturingLogger('debug');
    const h = await harness(t, { logger });
  const [a, b] = await h.pair();
  a.client.send({ type: 'signal', data: { secretSdp: 'do-not-log-this' } });
  await b.client.next('signal');
  const joined = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry['msg'] === 'joined');
  assert.ok(joined, 'a joined line');
  assert.match(String(joined['node']), /^[0-9a-f]+$/);
  assert.equal(joined['room'], 'room');
  assert.ok(typeof joined['conn'] === 'string');
  const all = lines.join('\n');
  assert.ok(!all.includes('do-not-log-this'));
  assert.ok(!all.includes(a.joined.resume), 'resume values are secrets too');
});
