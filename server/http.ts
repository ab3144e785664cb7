/**
 * Plain HTTP: `/healthz`, the demo page, and the raw answers for refused WebSocket upgrades
 * (which `ws` cannot give with a status and JSON body of our choosing).
 */
import { readFile } from 'node:fs/promises';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { HEALTH_PATH, SUPPORTED_PROTOCOLS, type HealthResponse, type UpgradeRefusal } from '../sdk/protocol.js';

const PAGES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
};

/** Answers the server's own HTTP routes; anything else is a JSON 404. */
export function createRequestHandler(staticDir: string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method-not-allowed' }, { Allow: 'GET, HEAD' });
      return;
    }
    if (path === HEALTH_PATH) {
      const body: HealthResponse = { ok: true, protocols: [...SUPPORTED_PROTOCOLS] };
      sendJson(res, 200, body, { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store' });
      return;
    }
    const page = PAGES[path];
    if (page === undefined) {
      sendJson(res, 404, { error: 'not-found' });
      return;
    }
    try {
      const content = await readFile(join(staticDir, page.file));
      res.writeHead(200, { 'Content-Type': page.type, 'Content-Length': content.length, 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : content);
    } catch {
      sendJson(res, 404, { error: 'not-found' });
    }
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json), ...headers });
  res.end(json);
}

/** Writes an HTTP error answer on a socket whose upgrade we refuse, then closes it. */
export function refuseUpgrade(socket: Duplex, status: number, body: UpgradeRefusal | { error: string }, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const json = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(json)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${json}`);
}
