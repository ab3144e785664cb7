/**
 * Relay throughput and one-way latency with the two peers of each room on different nodes
 * (scale-out on Redis), side by side in the same run with:
 * - the same load on one node with the in-memory store (today's single node),
 * - the same load on one node with the Redis store (the store's cost without crossing nodes),
 * - a bare Redis pub/sub relay between two processes (bare-redis-relay.ts), the floor for
 *   cross-node delivery.
 * Every party is its own process: Redis, each node (the built `p2p-call-server`), each bare relay
 * and the load generator (cross-node-load.ts). Nothing is pinned to a core: the machine's cores
 * are shared by all of them, and by whatever else runs (its share is measured and reported).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startRedis } from '../test/redis.js';
import { startNodeProcess, type NodeProcess } from '../test/scale/nodes.js';
import { median, report, type Comparison } from './stats.js';

const run = promisify(execFile);

export interface CrossNodeOptions {
  rounds: number;
  pairs: number;
  /** Signals each client sends at once in the throughput phase. */
  signals: number;
  /** Signals per second, all clients together, in the latency phase. */
  latencyRate: number;
  latencyMs: number;
}

interface Setup {
  name: string;
  urlA: string;
  urlB: string;
  /** The relay processes whose CPU time the signals cost. */
  pids: number[];
}

interface Sample {
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  /** Signals relayed per CPU-second of the relay processes (not counting Redis). */
  perCpuSecond: number;
  /** Redis CPU time per 100k signals, s. */
  redisCpuPer100k: number;
}

const TICK = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime are fields 14 and 15 (1-based) of the line; cutime, cstime 16 and 17.
  return Number(fields[11]) + Number(fields[12]) + (pid === process.pid ? Number(fields[13]) + Number(fields[14]) : 0);
}

function machineTicks(): { busy: number; total: number } {
  const [, ...values] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/);
  const ticks = values.map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

async function load(setup: Setup, o: CrossNodeOptions, redisPid: number, signals = o.signals): Promise<Sample> {
  const before = setup.pids.map(cpuTicks);
  const redisBefore = cpuTicks(redisPid);
  const { stdout } = await run(process.execPath, [
    '--import', 'tsx', new URL('./cross-node-load.ts', import.meta.url).pathname,
    setup.urlA, setup.urlB, String(o.pairs), String(signals), String(o.latencyRate), String(o.latencyMs),
  ], { timeout: 120_000 });
  const cpu = setup.pids.map((pid, i) => cpuTicks(pid) - (before[i] as number)).reduce((a, b) => a + b, 0) / TICK;
  const redisCpu = (cpuTicks(redisPid) - redisBefore) / TICK;
  const r = JSON.parse(stdout) as { signals: number; elapsedMs: number; samples: number; p50Ms: number; p99Ms: number };
  const relayed = r.signals + r.samples;
  return {
    throughput: r.signals / (r.elapsedMs / 1000),
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    perCpuSecond: cpu > 0 ? relayed / cpu : Number.NaN,
    redisCpuPer100k: (redisCpu / relayed) * 100_000,
  };
}

function startBareRedisRelay(redisUrl: string, self: string, other: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./bare-redis-relay.ts', import.meta.url).pathname, redisUrl, self, other], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n')[0];
      if (buffered.includes('\n') && line) resolve({ url: (JSON.parse(line) as { url: string }).url, child });
    });
    child.once('exit', (code) => reject(new Error(`bare-redis-relay ${self} exited with ${code}`)));
  });
}

export interface CrossNodeResult {
  text: string;
}

export async function crossNode(o: CrossNodeOptions): Promise<CrossNodeResult> {
  const redis = await startRedis();
  const probe = new Redis(redis.url);
  const info = await probe.info('server');
  probe.disconnect();
  const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  // Limits opened up so that only the relay path is measured (as in relay-throughput.ts).
  const open = { P2P_RATE_LIMIT: '1000000', P2P_MAX_CONNECTIONS_PER_IP: '10000', P2P_MAX_ROOMS: '1000000' };
  const nodes: NodeProcess[] = [];
  const bare: ChildProcess[] = [];
  try {
    // At the default log level (info: one line per connection, none per signal), which
    // startNodeProcess needs to see the "listening" line.
    const start = (env: Record<string, string>) => startNodeProcess({ ...open, ...env });
    // One after the other: on a busy machine three cold starts at once can miss the start-up limit.
    const one = await start({ P2P_REDIS_URL: redis.url, P2P_REDIS_KEY_PREFIX: 'bench:' });
    nodes.push(one);
    const two = await start({ P2P_REDIS_URL: redis.url, P2P_REDIS_KEY_PREFIX: 'bench:' });
    nodes.push(two);
    const memory = await start({});
    nodes.push(memory);
    const [b1, b2] = await Promise.all([startBareRedisRelay(redis.url, '1', '2'), startBareRedisRelay(redis.url, '2', '1')]);
    bare.push(b1.child, b2.child);
    const pid = (n: { child: ChildProcess }) => n.child.pid as number;
    const setups: Setup[] = [
      { name: 'cross-node (A on node 1, B on node 2, Redis)', urlA: one.wsUrl, urlB: two.wsUrl, pids: [pid(one), pid(two)] },
      { name: 'one node, in-memory store', urlA: memory.wsUrl, urlB: memory.wsUrl, pids: [pid(memory)] },
      { name: 'one node, Redis store', urlA: one.wsUrl, urlB: one.wsUrl, pids: [pid(one)] },
      { name: 'bare Redis pub/sub relay, 2 processes', urlA: b1.url, urlB: b2.url, pids: [pid(b1), pid(b2)] },
    ];
    const samples = setups.map(() => [] as Sample[]);

    for (const setup of setups) await load(setup, o, redisPid, Math.min(o.signals, 100)); // warm-up
    const machineBefore = machineTicks();
    const oursBefore = [process.pid, redisPid, ...nodes.map(pid), ...bare.map((c) => c.pid as number)].map(cpuTicks);
    const startedAt = performance.now();
    for (let round = 0; round < o.rounds; round++) {
      // Each round starts with a different setup, so no setup always follows the same one.
      for (let k = 0; k < setups.length; k++) {
        const i = (round + k) % setups.length;
        (samples[i] as Sample[]).push(await load(setups[i] as Setup, o, redisPid));
      }
    }
    const seconds = (performance.now() - startedAt) / 1000;
    const machineAfter = machineTicks();
    const ours = [process.pid, redisPid, ...nodes.map(pid), ...bare.map((c) => c.pid as number)]
      .map((p, i) => cpuTicks(p) - (oursBefore[i] as number)).reduce((a, b) => a + b, 0);
    const cores = machineAfter.total - machineBefore.total;
    const othersShare = Math.max(0, machineAfter.busy - machineBefore.busy - ours) / cores;
    const oursShare = ours / cores;

    const [cross, memoryS, redisS, bareS] = samples as [Sample[], Sample[], Sample[], Sample[]];
    const compare = (what: string, unit: string, a: Sample[], b: Sample[], key: keyof Sample, an: string, bn: string, means: string): Comparison => ({
      what, unit, candidate: { name: an, values: a.map((s) => s[key]) }, baseline: { name: bn, values: b.map((s) => s[key]) }, ratioMeans: means,
    });
    const load1 = `${o.pairs} rooms × 2 clients × ${o.signals} signals each at once`;
    const load2 = `${o.latencyRate} signals/s for ${o.latencyMs / 1000} s`;
    const f = (n: number, digits = 2) => n.toFixed(digits);
    const row = (name: string, s: Sample[]) => {
      const m = (key: keyof Sample, d: number) => `${f(median(s.map((x) => x[key])), d)} (${f(Math.min(...s.map((x) => x[key])), d)}–${f(Math.max(...s.map((x) => x[key])), d)})`;
      return `  ${name.padEnd(44)} ${m('throughput', 0).padEnd(24)} ${m('p50Ms', 2).padEnd(20)} ${m('p99Ms', 2).padEnd(20)} ${m('perCpuSecond', 0).padEnd(24)} ${m('redisCpuPer100k', 2)}`;
    };
    const added = cross.map((s, i) => s.p99Ms - (memoryS[i] as Sample).p99Ms);
    const added50 = cross.map((s, i) => s.p50Ms - (memoryS[i] as Sample).p50Ms);
    const text = [
      `cross-node relay — ${o.rounds} rounds, rotating order; throughput: ${load1}; latency: ${load2}, one-way; medians (min–max)`,
      `  ${'setup'.padEnd(44)} ${'signals/s'.padEnd(24)} ${'p50 ms'.padEnd(20)} ${'p99 ms'.padEnd(20)} ${'signals per relay CPU-s'.padEnd(24)} Redis CPU-s per 100k`,
      row(setups[0]?.name ?? '', cross),
      row(setups[1]?.name ?? '', memoryS),
      row(setups[2]?.name ?? '', redisS),
      row(setups[3]?.name ?? '', bareS),
      '',
      report(compare(`cross-node vs one node: throughput (target ratio ≥ 0.5)`, 'signals/s', cross, memoryS, 'throughput', 'cross-node', 'one node, memory', 'cross-node relays more per second')),
      report(compare(`cross-node vs one node on Redis: throughput`, 'signals/s', cross, redisS, 'throughput', 'cross-node', 'one node, Redis', 'cross-node relays more per second')),
      report(compare(`one node on Redis vs one node in memory: throughput`, 'signals/s', redisS, memoryS, 'throughput', 'one node, Redis', 'one node, memory', 'the Redis store relays more per second')),
      report(compare(`cross-node vs bare Redis pub/sub relay: throughput`, 'signals/s', cross, bareS, 'throughput', 'cross-node', 'bare Redis relay', 'cross-node relays more per second')),
      report(compare(`cross-node vs one node: signals per CPU-second of the relay processes (both nodes summed; Redis apart), the figure other load on the machine moves least`, 'signals/CPU-s', cross, memoryS, 'perCpuSecond', 'cross-node', 'one node, memory', 'cross-node costs less CPU per signal')),
      `added one-way latency, cross-node minus one node in memory, same round (target p99 < 2 ms):`,
      `  p99 median ${f(median(added))} ms (rounds: ${added.map((x) => f(x)).join(' ')}); p50 median ${f(median(added50))} ms`,
      `machine during the ${f(seconds, 0)} s of rounds: this benchmark's processes ${f(oursShare * 100, 0)}% of all cores, other processes ${f(othersShare * 100, 0)}% (from /proc/stat)`,
    ].join('\n');
    return { text };
  } finally {
    // Bounded: a node that has not finished its graceful stop within 5 s is killed.
    await Promise.all(nodes.map(async (node) => {
      node.signal('SIGTERM');
      const timer = setTimeout(() => node.signal('SIGKILL'), 5_000);
      await node.exited;
      clearTimeout(timer);
    }));
    for (const child of bare) child.kill('SIGTERM');
    await redis.stop();
  }
}
