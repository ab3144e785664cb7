/**
 * The load generator of the cross-node benchmark, run as its own process so that it never
 * shares an event loop with the nodes it measures. Usage:
 *   cross-node-load.ts URL_A URL_B PAIRS SIGNALS LATENCY_RATE LATENCY_MS
 *
 * Seats PAIRS rooms of two, peer A through URL_A and peer B through URL_B (the same URL for a
 * single node), then measures two things in turn:
 * - latency: LATENCY_RATE signals per second in all, spread over the clients, for LATENCY_MS;
 *   the one-way time of each (both ends are in this process, so one clock stamps both), at a
 *   rate well below saturation so that the figure is the path's, not a queue's; first, so
 *   that no backlog of the throughput phase is in it;
 * - throughput: every client sends SIGNALS trickle-ICE-sized signals to its peer at once; the
 *   time from the first send to the last arrival.
 * Prints one JSON line. Each client says `leave` before closing so no seat is held afterwards.
 */
import WebSocket from 'ws';
import { PROTOCOL_V1 } from '../sdk/protocol.js';

const [urlA, urlB, pairsText, signalsText, rateText, latencyMsText] = process.argv.slice(2);
const pairs = Number(pairsText);
const signals = Number(signalsText);
const rate = Number(rateText);
const latencyMs = Number(latencyMsText);
if (!urlA || !urlB || !(pairs > 0) || !(signals > 0) || !(rate > 0) || !(latencyMs > 0)) {
  throw new Error('usage: cross-node-load.ts URL_A URL_B PAIRS SIGNALS LATENCY_RATE LATENCY_MS');
}

/** One trickled ICE candidate (about 250 bytes on the wire), as in relay-load.ts. */
const CANDIDATE = {
  candidate: 'candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.5 rport 46154 generation 0 ufrag sXt8 network-cost 999',
  sdpMid: '0',
  sdpMLineIndex: 0,
  usernameFragment: 'sXt8',
};

let arrived = 0;
let onArrival: () => void = () => {};
const latencies: number[] = [];

function seat(url: string, room: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, PROTOCOL_V1);
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'join', room })));
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; data?: { t?: number } };
      if (message.type === 'signal') {
        const sentAt = message.data?.t;
        if (sentAt !== undefined) latencies.push(performance.now() - sentAt);
        arrived++;
        onArrival();
      } else if (message.type === 'joined') {
        resolve(socket);
      } else if (message.type === 'error') {
        reject(new Error(`server error: ${String(raw)}`));
      }
    });
  });
}

function arrivals(count: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: only ${arrived} of ${count} signals arrived within 60 s`)), 60_000);
    onArrival = () => {
      if (arrived < count) return;
      clearTimeout(timer);
      onArrival = () => {};
      resolve();
    };
    onArrival();
  });
}

const sockets: WebSocket[] = [];
for (let i = 0; i < pairs; i++) {
  const room = `cross-${process.pid}-${i}`;
  // One after the other: the second must find the first already seated.
  sockets.push(await seat(urlA, room), await seat(urlB, room));
}

// Latency: paced, each signal stamped with its send time, round robin over the clients.
const paced = Math.round((rate * latencyMs) / 1000);
let sent = 0;
const pacedStart = performance.now();
await new Promise<void>((resolve) => {
  const tick = setInterval(() => {
    const due = Math.min(paced, Math.round(((performance.now() - pacedStart) * rate) / 1000));
    for (; sent < due; sent++) {
      (sockets[sent % sockets.length] as WebSocket).send(JSON.stringify({ type: 'signal', data: { candidate: CANDIDATE, t: performance.now() } }));
    }
    if (sent >= paced) {
      clearInterval(tick);
      resolve();
    }
  }, 1);
});
await arrivals(paced, 'latency');

// Throughput: everything at once.
arrived = 0;
const blast = pairs * 2 * signals;
const frame = JSON.stringify({ type: 'signal', data: { candidate: CANDIDATE } });
const started = performance.now();
for (const socket of sockets) for (let i = 0; i < signals; i++) socket.send(frame);
await arrivals(blast, 'throughput');
const elapsedMs = performance.now() - started;

for (const socket of sockets) {
  socket.send(JSON.stringify({ type: 'leave' }));
  socket.close();
}
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] as number;
process.stdout.write(`${JSON.stringify({ signals: blast, elapsedMs, samples: latencies.length, p50Ms: at(0.5), p99Ms: at(0.99) })}\n`);
