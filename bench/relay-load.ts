/**
 * The load generator of the relay benchmark, run as its own process so that it never shares an
 * event loop with the server it measures. Usage: relay-load.ts WS_URL PAIRS SIGNALS
 *
 * Seats PAIRS rooms of two, then every client sends SIGNALS trickle-ICE-sized signals to its
 * peer at once; prints one JSON line: how many signals arrived and how long from the first send
 * to the last arrival.
 */
import WebSocket from 'ws';
import { PROTOCOL_V1 } from '../sdk/protocol.js';

const [url, pairsText, signalsText] = process.argv.slice(2);
const pairs = Number(pairsText);
const signals = Number(signalsText);
if (!url || !(pairs > 0) || !(signals > 0)) throw new Error('usage: relay-load.ts WS_URL PAIRS SIGNALS');

/** What most signaling traffic is: one trickled ICE candidate (about 250 bytes on the wire). */
const CANDIDATE = {
  candidate: {
    candidate: 'candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.5 rport 46154 generation 0 ufrag sXt8 network-cost 999',
    sdpMid: '0',
    sdpMLineIndex: 0,
    usernameFragment: 'sXt8',
  },
};

const expected = pairs * 2 * signals;
let arrived = 0;
let allArrived: () => void = () => {};
const done = new Promise<void>((resolve, reject) => {
  allArrived = resolve;
  setTimeout(() => reject(new Error(`only ${arrived} of ${expected} signals arrived within 60 s`)), 60_000).unref();
});

function seat(room: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url as string, PROTOCOL_V1);
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'join', room })));
    socket.on('message', (raw) => {
      const type = (JSON.parse(String(raw)) as { type: string }).type;
      if (type === 'signal') {
        if (++arrived === expected) allArrived();
      } else if (type === 'joined') {
        resolve(socket);
      } else if (type === 'error') {
        reject(new Error(`server error: ${String(raw)}`));
      }
    });
  });
}

const sockets: WebSocket[] = [];
for (let i = 0; i < pairs; i++) {
  const room = `bench-${process.pid}-${i}`;
  // One after the other: the second must find the first already seated.
  sockets.push(await seat(room), await seat(room));
}

const frame = JSON.stringify({ type: 'signal', data: CANDIDATE });
const started = performance.now();
for (const socket of sockets) for (let i = 0; i < signals; i++) socket.send(frame);
await done;
const elapsedMs = performance.now() - started;
for (const socket of sockets) socket.close();
process.stdout.write(`${JSON.stringify({ signals: expected, elapsedMs })}\n`);
