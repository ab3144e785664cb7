/**
 * Several signaling nodes sharing rooms in a real Redis, single instance and 3-master Cluster:
 * peers on different nodes, the race for the last seat, a node killed or stopped mid-call, a
 * dead node's seats expiring, and (single instance) Redis going away and coming back empty.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { SignalingServerOptions } from '../../server/index.js';
import { startRedis, startRedisCluster } from '../redis.js';
import { capturingLogger, httpGet, type RunningServer, startServer, TestClient, uniqueKeyPrefix } from '../server/helpers.js';
import { startNodeProcess, type NodeProcess } from './nodes.js';

const PING_MS = 1_000;
const GRACE_MS = 4_000;
/** PROTOCOL rev 4: a dead node's seats are detected as dropped within 2 × ping interval + 1 s. */
const DETECTION_BOUND_MS = 2 * PING_MS + 1_000;
/** Room for a busy CI machine on top of a bound. */
const SLACK_MS = 1_500;

interface Backend {
  name: string;
  url: string;
  cluster: boolean;
  stop(): Promise<void>;
}

const backends: Array<{ name: string; start(): Promise<Backend> }> = [
  {
    name: 'a single Redis',
    async start() {
      const redis = await startRedis();
      return { name: 'redis', url: redis.url, cluster: false, stop: () => redis.kill() };
    },
  },
  {
    name: 'a 3-master Redis Cluster',
    async start() {
      const cluster = await startRedisCluster();
      return { name: 'cluster', url: cluster.url, cluster: true, stop: () => cluster.stop() };
    },
  },
];

for (const { name, start } of backends) {
  describe(`several nodes on ${name}`, () => {
    let backend: Backend;
    before(async () => {
      backend = await start();
    });
    after(() => backend.stop());

    const shared = (prefix: string): SignalingServerOptions => ({
      redisUrl: backend.url,
      redisCluster: backend.cluster,
      redisKeyPrefix: prefix,
      pingIntervalMs: PING_MS,
      reconnectGraceMs: GRACE_MS,
    });

    /** In-process nodes sharing one key prefix, closed when the test ends. */
    async function nodes(t: TestContext, count: number, extra: SignalingServerOptions = {}): Promise<RunningServer[]> {
      const prefix = uniqueKeyPrefix();
      const running = await Promise.all(Array.from({ length: count }, () => startServer({ ...shared(prefix), ...extra })));
      t.after(() => Promise.all(running.map((node) => node.close())));
      return running;
    }

    /** Node processes (to kill), closed when the test ends. */
    async function processes(t: TestContext, count: number): Promise<NodeProcess[]> {
      const prefix = uniqueKeyPrefix();
      const env = {
        P2P_REDIS_URL: backend.url,
        P2P_REDIS_KEY_PREFIX: prefix,
        P2P_PING_INTERVAL_MS: String(PING_MS),
        P2P_RECONNECT_GRACE_MS: String(GRACE_MS),
        ...(backend.cluster ? { P2P_REDIS_CLUSTER: 'true' } : {}),
      };
      const running = await Promise.all(Array.from({ length: count }, () => startNodeProcess(env)));
      t.after(() => {
        for (const node of running) node.signal('SIGKILL');
      });
      return running;
    }

    async function client(t: TestContext, url: string): Promise<TestClient> {
      const connected = await TestClient.connect(url, { waitMs: 5_000 });
      t.after(() => connected.drop());
      return connected;
    }

    test('peers on different nodes call each other: signals arrive complete and in order, a third node\'s joiner gets room-full', async (t) => {
      const [n1, n2, n3] = (await nodes(t, 3)) as [RunningServer, RunningServer, RunningServer];
      const a = await client(t, n1.wsUrl);
      const b = await client(t, n2.wsUrl);
      const joinedA = await a.join('call');
      const joinedB = await b.join('call');
      assert.deepEqual(joinedB.peers, [joinedA.peerId]);
      assert.notEqual(joinedA.polite, joinedB.polite);
      assert.equal((await a.next('peer-joined')).peerId, joinedB.peerId);

      const sdp = 'v=0\r\n'.repeat(500);
      for (let i = 0; i < 150; i++) a.send({ type: 'signal', data: { seq: i, sdp, nested: { list: [i, 'ü', null, true] } } });
      for (let i = 0; i < 150; i++) b.send({ type: 'signal', data: { seq: i } });
      for (let i = 0; i < 150; i++) {
        const fromA = await b.next('signal');
        assert.equal(fromA.from, joinedA.peerId);
        assert.deepEqual(fromA.data, { seq: i, sdp, nested: { list: [i, 'ü', null, true] } });
        assert.deepEqual((await a.next('signal')).data, { seq: i });
      }

      const c = await client(t, n3.wsUrl);
      c.send({ type: 'join', room: 'call' });
      await c.nextError('room-full');
      await a.expectQuiet();
      await b.expectQuiet();
    });

    test('racing for the last seat from three nodes: exactly one joiner wins, every time', async (t) => {
      const running = await nodes(t, 3);
      for (let round = 0; round < 10; round++) {
        const room = `race-${round}`;
        const first = await client(t, (running[round % 3] as RunningServer).wsUrl);
        await first.join(room);
        const racers = await Promise.all(Array.from({ length: 9 }, (_, i) => client(t, (running[i % 3] as RunningServer).wsUrl)));
        for (const racer of racers) racer.send({ type: 'join', room });
        const answers = await Promise.all(racers.map((racer) => racer.next()));
        const winners = answers.filter((answer) => answer.type === 'joined');
        const losers = answers.filter((answer) => answer.type === 'error' && answer.code === 'room-full');
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(answers)}`);
        assert.equal(losers.length, racers.length - 1, `round ${round}: ${JSON.stringify(answers)}`);
        for (const racer of racers) racer.drop();
        first.drop();
      }
    });

    test('signals for a held seat are queued and delivered in order when it resumes on a third node', async (t) => {
      const [n1, n2, n3] = (await nodes(t, 3)) as [RunningServer, RunningServer, RunningServer];
      const a = await client(t, n1.wsUrl);
      const b = await client(t, n2.wsUrl);
      const joinedA = await a.join('queue');
      const joinedB = await b.join('queue');
      await a.next('peer-joined');
      b.drop();
      assert.equal((await a.next('peer-disconnected')).peerId, joinedB.peerId);
      for (let i = 0; i < 5; i++) a.send({ type: 'signal', data: { seq: i } });
      await a.expectQuiet();

      const back = await client(t, n3.wsUrl);
      const resumed = await back.join('queue', { resume: joinedB.resume });
      assert.equal(resumed.peerId, joinedB.peerId);
      assert.equal(resumed.polite, joinedB.polite);
      for (let i = 0; i < 5; i++) {
        const signal = await back.next('signal');
        assert.deepEqual([signal.from, signal.data], [joinedA.peerId, { seq: i }]);
      }
      assert.equal((await a.next('peer-reconnected')).peerId, joinedB.peerId);
    });

    test('kill -9 of a node: the other peer sees peer-disconnected within 2 × ping + 1 s, then peer-reconnected when its client resumes elsewhere', async (t) => {
      const [p1, p2] = (await processes(t, 2)) as [NodeProcess, NodeProcess];
      const a = await client(t, p1.wsUrl);
      const b = await client(t, p2.wsUrl);
      const joinedA = await a.join('kill');
      await b.join('kill');
      await a.next('peer-joined');

      const killedAt = Date.now();
      p1.signal('SIGKILL');
      await a.closed;
      const disconnected = await b.next('peer-disconnected', DETECTION_BOUND_MS + SLACK_MS);
      assert.equal(disconnected.peerId, joinedA.peerId);
      assert.ok(Date.now() - killedAt <= DETECTION_BOUND_MS + SLACK_MS);

      const back = await client(t, p2.wsUrl);
      const resumed = await back.join('kill', { resume: joinedA.resume });
      assert.equal(resumed.peerId, joinedA.peerId, 'same seat, same peerId');
      assert.equal((await b.next('peer-reconnected')).peerId, joinedA.peerId);
      back.send({ type: 'signal', data: { after: 'resume' } });
      assert.deepEqual((await b.next('signal')).data, { after: 'resume' });
    });

    test('kill -9, resumed before the death is detected: the other peer gets only peer-reconnected', async (t) => {
      const [p1, p2] = (await processes(t, 2)) as [NodeProcess, NodeProcess];
      const a = await client(t, p1.wsUrl);
      const b = await client(t, p2.wsUrl);
      const joinedA = await a.join('fast');
      await b.join('fast');
      await a.next('peer-joined');
      p1.signal('SIGKILL');
      await a.closed;
      const back = await client(t, p2.wsUrl);
      assert.equal((await back.join('fast', { resume: joinedA.resume })).peerId, joinedA.peerId);
      assert.equal((await b.next('peer-reconnected')).peerId, joinedA.peerId);
      // Once the survivors have reaped the dead node, still nothing more for b.
      await reaped([p2], p1, DETECTION_BOUND_MS + SLACK_MS);
      await b.expectQuiet();
    });

    test('the seats of a dead node that nobody resumes end in peer-left timeout on time', async (t) => {
      const [p1, p2] = (await processes(t, 2)) as [NodeProcess, NodeProcess];
      const a = await client(t, p1.wsUrl);
      const b = await client(t, p2.wsUrl);
      const joinedA = await a.join('expire');
      await b.join('expire');
      await a.next('peer-joined');
      p1.signal('SIGKILL');
      await b.next('peer-disconnected', DETECTION_BOUND_MS + SLACK_MS);
      const detectedAt = Date.now();
      const left = await b.next('peer-left', GRACE_MS + SLACK_MS);
      assert.deepEqual([left.peerId, left.reason], [joinedA.peerId, 'timeout']);
      const elapsed = Date.now() - detectedAt;
      assert.ok(elapsed >= GRACE_MS - 300, `grace counted from detection (${elapsed} ms)`);
      // The seat is free: a newcomer on the surviving node sits next to b.
      const newcomer = await client(t, p2.wsUrl);
      assert.equal((await newcomer.join('expire')).peers.length, 1);
    });

    test('SIGTERM on a node mid-call: server-shutdown and 1001, peer-disconnected then peer-reconnected after the resume on another node', async (t) => {
      const [p1, p2] = (await processes(t, 2)) as [NodeProcess, NodeProcess];
      const a = await client(t, p1.wsUrl);
      const b = await client(t, p2.wsUrl);
      const joinedA = await a.join('rolling');
      await b.join('rolling');
      await a.next('peer-joined');
      p1.signal('SIGTERM');
      await a.nextError('server-shutdown');
      assert.equal((await a.closed).code, 1001);
      assert.equal((await b.next('peer-disconnected')).peerId, joinedA.peerId);
      const back = await client(t, p2.wsUrl);
      assert.equal((await back.join('rolling', { resume: joinedA.resume })).peerId, joinedA.peerId);
      assert.equal((await b.next('peer-reconnected')).peerId, joinedA.peerId);
      assert.equal(await p1.exited, 0);
      await b.expectQuiet();
    });
  });
}

describe('Redis goes away and comes back', () => {
  test('joins answer server-busy within 2 s, /healthz says 503, nodes recover by themselves with Redis empty', async (t) => {
    const redis = await startRedis();
    t.after(() => redis.kill());
    const prefix = uniqueKeyPrefix();
    const options = { redisUrl: redis.url, redisKeyPrefix: prefix, pingIntervalMs: PING_MS, reconnectGraceMs: 30_000 };
    const n1 = await startServer(options);
    const n2 = await startServer(options);
    t.after(() => Promise.all([n1.close(), n2.close()]));
    const a = await TestClient.connect(n1.wsUrl, { waitMs: 5_000 });
    const b = await TestClient.connect(n2.wsUrl, { waitMs: 5_000 });
    const held = await TestClient.connect(n2.wsUrl, { waitMs: 5_000 });
    t.after(() => [a, b, held].forEach((c) => c.drop()));
    await a.join('outage');
    const joinedB = await b.join('outage');
    await a.next('peer-joined');
    const joinedHeld = await held.join('other-room');
    held.drop();

    await redis.stop();
    const stopped = Date.now();
    const late = await TestClient.connect(n1.wsUrl, { waitMs: 5_000 });
    t.after(() => late.drop());
    late.send({ type: 'join', room: 'during' });
    const busy = await late.nextError('server-busy');
    assert.ok(Date.now() - stopped < 2_000 + SLACK_MS, 'answered, not left waiting');
    assert.ok((busy.retryAfterMs ?? 0) > 0);
    const health = await httpGet(`${n1.httpUrl}/healthz`);
    assert.equal(health.status, 503);
    assert.equal(JSON.parse(health.body).ok, false);
    a.send({ type: 'signal', data: { lost: 'no' } });
    const refused = await a.nextError('server-busy');
    assert.equal(refused.ref, 'signal');

    await redis.start();
    await eventually(async () => (await httpGet(`${n1.httpUrl}/healthz`)).status === 200 && (await httpGet(`${n2.httpUrl}/healthz`)).status === 200, 10_000);
    // The live seats were put back: the call's signaling works again, on the same seats.
    let delivered: unknown;
    for (let attempt = 0; attempt < 50 && delivered === undefined; attempt++) {
      a.send({ type: 'signal', data: { attempt } });
      delivered = (await b.next('signal', 200).catch(() => undefined))?.data;
    }
    assert.ok(delivered !== undefined, 'signals flow again once the nodes re-registered their seats');
    assert.ok(joinedB.peerId);
    const third = await TestClient.connect(n1.wsUrl, { waitMs: 5_000 });
    t.after(() => third.drop());
    third.send({ type: 'join', room: 'outage' });
    await third.nextError('room-full');
    // The held seat was lost with Redis's memory: its resume is refused, and a fresh join works.
    const comeback = await TestClient.connect(n2.wsUrl, { waitMs: 5_000 });
    t.after(() => comeback.drop());
    comeback.send({ type: 'join', room: 'other-room', resume: joinedHeld.resume });
    await comeback.nextError('invalid-resume');
    assert.equal((await comeback.join('other-room')).peers.length, 0);
    const metrics = await httpGet(`${n1.httpUrl}/metrics`);
    assert.match(metrics.body, /p2p_call_store_errors_total\{[^}]*\} [1-9]/);
  });

  test('a Redis with a password: the URL carries it; a wrong one is server-busy and a 503, and never logged', async (t) => {
    const password = 'redis-pass-do-not-log-0123';
    const redis = await startRedis(['--requirepass', password]);
    t.after(() => redis.kill());
    const { logger, lines } = capturingLogger('trace');
    const good = await startServer({ redisUrl: `redis://:${password}@127.0.0.1:${redis.port}`, redisKeyPrefix: uniqueKeyPrefix() });
    const bad = await startServer({ redisUrl: `redis://:wrong-${password}@127.0.0.1:${redis.port}`, redisKeyPrefix: uniqueKeyPrefix(), logger });
    t.after(() => Promise.all([good.close(), bad.close()]));
    const a = await TestClient.connect(good.wsUrl, { waitMs: 5_000 });
    const b = await TestClient.connect(bad.wsUrl, { waitMs: 5_000 });
    t.after(() => [a, b].forEach((c) => c.drop()));
    assert.equal((await a.join('auth')).peers.length, 0);
    b.send({ type: 'join', room: 'auth' });
    await b.nextError('server-busy');
    assert.equal((await httpGet(`${bad.httpUrl}/healthz`)).status, 503);
    assert.equal((await httpGet(`${good.httpUrl}/healthz`)).status, 200);
    assert.ok(!lines.join('').includes(password), 'the Redis password is not logged');
  });

  test('a Redis that hangs (SIGSTOP) is a server-busy within 2 s, not a hang', async (t) => {
    const redis = await startRedis();
    t.after(async () => {
      redis.resume();
      await redis.kill();
    });
    const node = await startServer({ redisUrl: redis.url, redisKeyPrefix: uniqueKeyPrefix(), pingIntervalMs: PING_MS });
    t.after(() => node.close());
    const client = await TestClient.connect(node.wsUrl, { waitMs: 5_000 });
    t.after(() => client.drop());
    redis.pause();
    const paused = Date.now();
    client.send({ type: 'join', room: 'hang' });
    await client.nextError('server-busy');
    assert.ok(Date.now() - paused < 2_000 + SLACK_MS);
    redis.resume();
    await eventually(async () => (await httpGet(`${node.httpUrl}/healthz`)).status === 200, 10_000);
    assert.equal((await client.join('hang')).peers.length, 0);
  });
});

/** Polls `check` until it holds, at most `ms`. */
async function eventually(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until a survivor logs that it has reaped the dead node (its seats are held by then). */
async function reaped(survivors: NodeProcess[], dead: NodeProcess, ms: number): Promise<void> {
  const node = /"node":"([0-9a-f]+)"/.exec(dead.log.join('\n'))?.[1];
  assert.ok(node, 'the dead node logged its id');
  await eventually(async () => survivors.some((s) => s.log.some((line) => line.includes('dead node reaped') && line.includes(node))), ms);
}
