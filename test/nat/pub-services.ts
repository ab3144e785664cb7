/**
 * Runs inside the NAT lab's `pub` namespace (the "internet"), started by the NAT tests:
 * signaling servers built from dist/ (one per entry of the config, e.g. STUN-only and with
 * TURN), all serving the test's host pages from one `staticDir`, plus echoes that answer with
 * the address they see: one over HTTP, two over UDP (two destinations show whether a NAT keeps
 * one public port per socket or picks one per destination). The CLI has no `staticDir` flag,
 * hence this script.
 *
 * Usage: node --import tsx test/nat/pub-services.ts '<PubConfig JSON>'
 * stdout: the servers' JSON log lines, then one `{"msg":"nat-lab-ready", ...}` line.
 * Stops on SIGTERM/SIGINT.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../dist/server/index.js';

export interface PubConfig {
  host: string;
  staticDir: string;
  /** Signaling servers by name; each listens on a free port of `host`. */
  servers: Record<string, Omit<SignalingServerOptions, 'host' | 'port' | 'staticDir' | 'logLevel'>>;
}

/** The last stdout line of a ready pub. */
export interface PubReady {
  msg: 'nat-lab-ready';
  /** Signaling server base URLs by name. */
  servers: Record<string, string>;
  /** GET → `{ "address": "<client address as seen here>" }`. */
  echo: string;
  /** UDP ports on `host` that answer every datagram with `<address>:<port>` of its sender. */
  udpEcho: number[];
}

const config = JSON.parse(process.argv[2] ?? '{}') as PubConfig;
const servers: SignalingServer[] = [];
const urls: Record<string, string> = {};
for (const [name, options] of Object.entries(config.servers)) {
  const server = createSignalingServer({ ...options, host: config.host, port: 0, staticDir: config.staticDir, logLevel: 'info' });
  servers.push(server);
  urls[name] = await server.listen();
}

const echo = createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify({ address: req.socket.remoteAddress }));
});
await new Promise<void>((done) => echo.listen(0, config.host, done));
const echoUrl = `http://${config.host}:${(echo.address() as AddressInfo).port}/`;

const udpEchoes: Socket[] = [];
for (let i = 0; i < 2; i++) {
  const socket = createSocket('udp4');
  socket.on('message', (_data, from) => socket.send(`${from.address}:${from.port}`, from.port, from.address));
  await new Promise<void>((done) => socket.bind(0, config.host, done));
  udpEchoes.push(socket);
}

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  echo.closeAllConnections();
  echo.close();
  for (const socket of udpEchoes) socket.close();
  Promise.all(servers.map((server) => server.close())).finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const ready: PubReady = { msg: 'nat-lab-ready', servers: urls, echo: echoUrl, udpEcho: udpEchoes.map((socket) => socket.address().port) };
process.stdout.write(`${JSON.stringify(ready)}\n`);
