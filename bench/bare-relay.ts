/**
 * The baseline for the relay benchmark: the least a WebSocket relay can do for the same
 * protocol on the same `ws` library. It seats two sockets per room and forwards each signal to
 * the other as `{type:'signal', from, data}`, with no validation, limits, ordering queue,
 * resume, heartbeat or logging. Our server's figures are read as a ratio to this one.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { PROTOCOL_V1, SIGNALING_PATH } from '../sdk/protocol.js';

export interface RunningRelay {
  url: string;
  close(): Promise<void>;
}

export async function startBareRelay(): Promise<RunningRelay> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: SIGNALING_PATH, handleProtocols: () => PROTOCOL_V1 });
  const rooms = new Map<string, WebSocket[]>();
  wss.on('connection', (socket) => {
    const peerId = randomUUID();
    let seats: WebSocket[] | undefined;
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; room?: string; data?: unknown };
      if (message.type === 'join' && seats === undefined) {
        const room = String(message.room);
        seats = rooms.get(room) ?? [];
        rooms.set(room, seats);
        seats.push(socket);
        socket.send(JSON.stringify({ type: 'joined', room, peerId, peers: [], polite: seats.length === 2, iceServers: [], resume: '', graceMs: 0 }));
      } else if (message.type === 'signal') {
        seats?.find((other) => other !== socket)?.send(JSON.stringify({ type: 'signal', from: peerId, data: message.data }));
      }
    });
    socket.on('close', () => seats?.splice(seats.indexOf(socket), 1));
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}${SIGNALING_PATH}`,
    close: () => new Promise<void>((resolve) => {
      for (const client of wss.clients) client.terminate();
      wss.close(() => resolve());
    }),
  };
}
