/**
 * Signals per second through the signaling server, against the bare `ws` relay of
 * bare-relay.ts in the same run. The load runs in a child process (relay-load.ts).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createSignalingServer } from '../server/index.js';
import { startBareRelay } from './bare-relay.js';
import type { Comparison } from './stats.js';

const run = promisify(execFile);

export interface RelayOptions {
  rounds: number;
  pairs: number;
  signals: number;
}

async function load(url: string, o: RelayOptions): Promise<number> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', new URL('./relay-load.ts', import.meta.url).pathname, url, String(o.pairs), String(o.signals)], { timeout: 90_000 });
  const { signals, elapsedMs } = JSON.parse(stdout) as { signals: number; elapsedMs: number };
  return signals / (elapsedMs / 1000);
}

export async function relayThroughput(o: RelayOptions): Promise<Comparison> {
  // Limits opened up so that only the relay path is measured: the defaults would (rightly)
  // throttle one client sending thousands of signals at once.
  const server = createSignalingServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', rateLimit: 1_000_000, maxConnectionsPerIp: 10_000 });
  const ours = `${(await server.listen()).replace('http', 'ws')}/ws`;
  const bare = await startBareRelay();
  const comparison: Comparison = {
    what: `relay throughput: ${o.pairs} rooms × 2 clients × ${o.signals} trickle-ICE signals each`,
    unit: 'signals/s',
    candidate: { name: 'p2p-call server', values: [] },
    baseline: { name: 'bare ws relay', values: [] },
    ratioMeans: 'p2p-call relays more per second',
  };
  try {
    await load(ours, { ...o, signals: Math.min(o.signals, 100) }); // warm-up of both (JIT, sockets)
    await load(bare.url, { ...o, signals: Math.min(o.signals, 100) });
    for (let round = 0; round < o.rounds; round++) {
      comparison.candidate.values.push(await load(ours, o));
      comparison.baseline.values.push(await load(bare.url, o));
    }
  } finally {
    await server.close();
    await bare.close();
  }
  return comparison;
}
