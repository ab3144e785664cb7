// A @web/test-runner plugin that lets browser tests start, restart and stop real signaling
// servers (a browser cannot do that itself), and cut their TCP connections like a network
// failure would. Servers are addressed by the id the command returns.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { createSignalingServer } from '../dist/server/index.js';
import { createRequestHandler } from '../dist/server/http.js';

/** A pino-compatible logger that says nothing. */
const silentLog = { info() {}, warn() {}, error() {}, debug() {}, child() { return silentLog; } };

/**
 * Servers that misbehave on purpose, for the SDK's error paths:
 * - `future`: speaks only p2p-call.v9 (426 at upgrade, /healthz lists v9);
 * - `silent`: accepts the WebSocket and never answers.
 */
async function startImpostor(kind) {
  const http = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' });
      res.end(JSON.stringify({ ok: true, protocols: kind === 'future' ? ['p2p-call.v9'] : ['p2p-call.v1'] }));
    } else {
      res.writeHead(404).end();
    }
  });
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => [...offered][0] ?? false });
  http.on('upgrade', (req, socket, head) => {
    if (kind === 'future') {
      socket.end('HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, () => {});
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

export function signalingServerPlugin() {
  /** @type {Map<string, {server: any, options: any, port: number, sockets: Set<import('node:net').Socket>}>} */
  const servers = new Map();
  let nextId = 1;

  async function start(options, port = 0) {
    const server = createSignalingServer({ host: '127.0.0.1', logLevel: 'silent', ...options, port });
    const sockets = new Set();
    server.httpServer.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    const url = await server.listen();
    return { server, sockets, url, port: Number(new URL(url).port) };
  }

  return {
    name: 'p2p-call-signaling-server',
    async executeCommand({ command, payload }) {
      switch (command) {
        case 'signaling-start': {
          const id = String(nextId++);
          const running = await start(payload?.options ?? {});
          servers.set(id, { ...running, options: payload?.options ?? {} });
          return { id, url: running.url, wsUrl: `ws://127.0.0.1:${running.port}/ws` };
        }
        case 'signaling-stop': {
          const entry = servers.get(payload.id);
          servers.delete(payload.id);
          await entry?.server.close();
          return true;
        }
        case 'signaling-restart': {
          // Same port, fresh process state: every seat and resume value is forgotten. A crash
          // by default (connections destroyed); `graceful` shuts down the way SIGTERM does
          // (error server-shutdown, close 1001).
          const entry = servers.get(payload.id);
          if (!payload.graceful) for (const socket of entry.sockets) socket.destroy();
          await entry.server.close();
          const running = await start(entry.options, entry.port);
          servers.set(payload.id, { ...running, options: entry.options });
          return true;
        }
        case 'signaling-cut': {
          // Destroys every TCP connection without a close frame: what a network failure does.
          const entry = servers.get(payload.id);
          const count = entry.sockets.size;
          for (const socket of entry.sockets) socket.destroy();
          return count;
        }
        case 'impostor-start': {
          const id = String(nextId++);
          const impostor = await startImpostor(payload.kind);
          servers.set(id, { server: impostor, sockets: new Set(), options: {}, port: impostor.port });
          return { id, url: impostor.url, wsUrl: `ws://127.0.0.1:${impostor.port}/ws` };
        }
        case 'occupancy-start': {
          // Only the server's HTTP routes, with a fixed occupancy per room: what GET /rooms/<room>
          // answers once the signaling server passes its room store's lookup to the handler.
          const seats = new Map(Object.entries(payload.seats ?? {}));
          const handler = createRequestHandler({
            staticDir: '/nonexistent', bundleDir: '/nonexistent', version: '0', log: silentLog,
            occupancy: async (room) => seats.get(room) ?? 0,
          });
          const http = createServer(handler);
          await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
          const { port } = http.address();
          const id = String(nextId++);
          const server = { close: () => new Promise((resolve) => { http.closeAllConnections(); http.close(resolve); }), stats: () => null };
          servers.set(id, { server, sockets: new Set(), options: {}, port });
          return { id, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws` };
        }
        case 'signaling-stats':
          return servers.get(payload.id)?.server.stats() ?? null;
        default:
          return undefined;
      }
    },
    async serverStop() {
      await Promise.all([...servers.values()].map((entry) => entry.server.close()));
      servers.clear();
    },
  };
}
