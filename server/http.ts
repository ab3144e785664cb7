/**
 * Plain HTTP on the server's own port: `/healthz`, the script-tag bundles, the demo, and the raw
 * answers for refused WebSocket upgrades (which `ws` cannot give with a status and JSON body of
 * our choosing). File contents and ETags come from static-files.ts.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { extname, join } from 'node:path';
import type { Logger } from 'pino';
import { HEALTH_PATH, SUPPORTED_PROTOCOLS, type HealthResponse, type UpgradeRefusal } from '../sdk/protocol.js';
import { FileCache, contentTypeOf, sendFile } from './static-files.js';

/** Prometheus scrapes this path. */
export const METRICS_PATH = '/metrics';

/** A deploy reaches embedding pages within minutes... */
const BUNDLE_CACHE = 'public, max-age=300';
/** ...while a versioned URL never changes content. */
const VERSIONED_BUNDLE_CACHE = 'public, max-age=31536000, immutable';

/** `/p2p-call.js`, `/p2p-call.iife.js`, their maps, optionally under `/v/<version>/`. */
const BUNDLE_ROUTE = /^\/(?:v\/([^/]+)\/)?(p2p-call(?:\.iife)?\.js(?:\.map)?)$/;
/** The demo page: `/` and a room link `/r/<room>`. */
const DEMO_PAGE_ROUTE = /^\/(?:r\/[A-Za-z0-9_-]{1,64})?$/;
/**
 * Any other file directly inside the demo directory. Matched on the raw request path: no
 * percent-decoding, no slash, no leading dot, so no traversal and no dotfiles.
 */
const DEMO_FILE_ROUTE = /^\/([A-Za-z0-9][A-Za-z0-9._-]*)$/;
const DEMO_EXTENSIONS = new Set(['.html', '.js', '.css', '.svg', '.png', '.ico', '.webmanifest', '.json']);

export interface RequestHandlerOptions {
  /** The demo directory (its `index.html` is the page at `/` and `/r/<room>`). */
  staticDir: string;
  /** Where `p2p-call.js` and `p2p-call.iife.js` are built (`<package>/dist`). */
  bundleDir: string;
  /** The package version: the only one served under `/v/<version>/`. */
  version: string;
  log: Logger;
}

/** Answers the server's own HTTP routes; anything else is a JSON 404. */
export function createRequestHandler({ staticDir, bundleDir, version, log }: RequestHandlerOptions) {
  const files = new FileCache();
  /** Bundles already reported missing, so a page reloading in a loop does not flood the log. */
  const reportedMissing = new Set<string>();

  async function serveBundle(req: IncomingMessage, res: ServerResponse, name: string, versioned: boolean): Promise<void> {
    const path = join(bundleDir, name);
    const file = await files.get(path);
    if (file === undefined) {
      if (!reportedMissing.has(path)) {
        reportedMissing.add(path);
        log.warn({ file: path }, 'script-tag bundle not built: run "npm run build"');
      }
      sendJson(res, 404, { error: 'not-built' }, { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store' });
      return;
    }
    reportedMissing.delete(path);
    sendFile(req, res, file, {
      'Content-Type': contentTypeOf(name),
      'Cache-Control': versioned ? VERSIONED_BUNDLE_CACHE : BUNDLE_CACHE,
      // Module scripts are fetched with CORS; CORP lets the classic IIFE load on COEP pages too.
      'Access-Control-Allow-Origin': '*',
      'Cross-Origin-Resource-Policy': 'cross-origin',
    });
  }

  async function serveDemoFile(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    const file = await files.get(join(staticDir, name));
    if (file === undefined) {
      sendJson(res, 404, { error: 'not-found' });
      return;
    }
    sendFile(req, res, file, { 'Content-Type': contentTypeOf(name), 'Cache-Control': 'no-cache' });
  }

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method-not-allowed' }, { Allow: 'GET, HEAD' });
      return;
    }
    const path = requestPath(req.url);
    if (handleHealthCheck(req, res)) return;
    const bundle = BUNDLE_ROUTE.exec(path);
    if (bundle !== null) {
      const requestedVersion = bundle[1];
      const name = bundle[2] as string; // the group is not optional
      if (requestedVersion !== undefined && requestedVersion !== version) {
        sendJson(res, 404, { error: 'not-found' });
        return;
      }
      await serveBundle(req, res, name, requestedVersion !== undefined);
      return;
    }
    if (DEMO_PAGE_ROUTE.test(path)) {
      await serveDemoFile(req, res, 'index.html');
      return;
    }
    const name = DEMO_FILE_ROUTE.exec(path)?.[1];
    if (name !== undefined && DEMO_EXTENSIONS.has(extname(name).toLowerCase())) {
      await serveDemoFile(req, res, name);
      return;
    }
    sendJson(res, 404, { error: 'not-found' });
  };

  // The caller does not await this; a failure must become a 500, never an unhandled rejection.
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      await route(req, res);
    } catch (error) {
      log.error({ err: (error as Error).message, url: req.url }, 'http request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
      else res.destroy();
    }
  };
}

/**
 * The path of the request target as sent, without query or fragment. Deliberately not
 * normalized or decoded (`/%2e%2e/` stays as it is and matches no route).
 */
function requestPath(url: string | undefined): string {
  if (url === undefined) return '/';
  // Absolute form (`GET http://host/path`), as a proxy may send it: keep only the path.
  const target = url.startsWith('/') ? url : (/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*(.*)$/.exec(url)?.[1] ?? '');
  const end = target.search(/[?#]/);
  const path = end < 0 ? target : target.slice(0, end);
  return path === '' ? '/' : path;
}

/**
 * Answers `GET /healthz` (the SDK reads it to tell an unreachable server from a version
 * mismatch) and returns true; false for any other request. Exported for apps that attach the
 * signaling server to their own HTTP server and route this path themselves.
 */
export function handleHealthCheck(req: IncomingMessage, res: ServerResponse, health: Omit<HealthResponse, 'protocols'> = { ok: true }): boolean {
  if (requestPath(req.url) !== HEALTH_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const body: HealthResponse = { ...health, protocols: [...SUPPORTED_PROTOCOLS] };
  sendJson(res, health.ok ? 200 : 503, body, { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store' });
  return true;
}

/** True for `GET`/`HEAD /metrics`. */
export function isMetricsRequest(req: IncomingMessage): boolean {
  return requestPath(req.url) === METRICS_PATH && (req.method === 'GET' || req.method === 'HEAD');
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
