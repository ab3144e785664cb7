/**
 * The floor for cross-node delivery: the least two relay processes can do to pass a signal
 * from a socket on one to a socket on the other through Redis. Run as its own process:
 *   bare-redis-relay.ts REDIS_URL SELF OTHER
 * It seats sockets per room like bare-relay.ts, and forwards each signal with one PUBLISH to
 * the other process's channel (`bare:OTHER`); its subscriber on `bare:SELF` hands what arrives
 * to the room's local socket as `{type:'signal', from, data}`. No room state in Redis, no
 * validation, limits, ordering queue, resume or logs. Prints `{"url": …}` once listening.
 * (A room's two peers are expected on different processes, as the benchmark seats them.)
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { PROTOCOL_V1, SIGNALING_PATH } from '../sdk/protocol.js';

const [redisUrl, self, other] = process.argv.slice(2);
if (!redisUrl || !self || !other) throw new Error('usage: bare-redis-relay.ts REDIS_URL SELF OTHER');

const publisher = new Redis(redisUrl);
const subscriber = new Redis(redisUrl);
const local = new Map<string, WebSocket>();
// Redis going away at the end of the run is not this process's business to report.
publisher.on('error', () => undefined);
subscriber.on('error', () => undefined);

subscriber.on('message', (_channel: string, payload: string) => {
  // `<room>\n<from>\n<data json>`
  const first = payload.indexOf('\n');
  const second = payload.indexOf('\n', first + 1);
  const socket = local.get(payload.slice(0, first));
  socket?.send(`{"type":"signal","from":${JSON.stringify(payload.slice(first + 1, second))},"data":${payload.slice(second + 1)}}`);
});
await subscriber.subscribe(`bare:${self}`);

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: SIGNALING_PATH, handleProtocols: () => PROTOCOL_V1 });
wss.on('connection', (socket) => {
  const peerId = randomUUID();
  let room: string | undefined;
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as { type: string; room?: string; data?: unknown };
    if (message.type === 'join' && room === undefined) {
      room = String(message.room);
      local.set(room, socket);
      socket.send(JSON.stringify({ type: 'joined', room, peerId, peers: [], polite: false, iceServers: [], resume: '', graceMs: 0 }));
    } else if (message.type === 'signal' && room !== undefined) {
      void publisher.publish(`bare:${other}`, `${room}\n${peerId}\n${JSON.stringify(message.data)}`);
    }
  });
  socket.on('close', () => {
    if (room !== undefined && local.get(room) === socket) local.delete(room);
  });
});
await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
const { port } = wss.address() as AddressInfo;
process.stdout.write(`${JSON.stringify({ url: `ws://127.0.0.1:${port}${SIGNALING_PATH}` })}\n`);
process.on('SIGTERM', () => {
  wss.close();
  publisher.disconnect();
  subscriber.disconnect();
  process.exit(0);
});
