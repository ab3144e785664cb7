/**
 * deploy/nginx.conf, run for real: nginx started from a site derived from the shipped file
 * (test ports, a throwaway certificate, the upstream port of a signaling server started here)
 * inside a main config of its own (pid, logs, temp dirs in a temp directory). Checked: the
 * redirect, TLS and HSTS, the bundle served through nginx with the server's headers, a call
 * between two demo pages over https/wss, idle WebSockets against nginx's timeouts, and
 * --trust-proxy behind nginx (client addresses, the per-address limit, forged headers).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { Browser } from 'puppeteer-core';
import type { WebSocket } from 'ws';
import { DEFAULTS, createSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../server/index.js';
import { launchChromium } from '../e2e/browser.js';
import { twoPageCall } from './demo-call.js';
import {
  Workspace, deployFile, deriveNginxSite, get, makeCertificate, nginxDirectives, nginxLocation, nginxServer, nginxTimeMs, openSocket,
  parseEnvFile, startNginx, substitute, type Certificate, type RunningNginx,
} from './helpers.js';

const workspaces: Workspace[] = [];
const cleanups: Array<() => Promise<void>> = [];
let cert: Certificate;
let browser: Browser | undefined;

/**
 * The server's heartbeat for these tests: short, so idle checks stay quick, yet each pong (through
 * nginx and TLS) has a whole interval to come back on a busy machine; well under the scaled-down
 * 1 s proxy timeout.
 */
const PING_MS = 400;

interface Stack {
  server: SignalingServer;
  /** The server's own http://127.0.0.1:<port>, bypassing nginx. */
  url: string;
  /** The server's JSON log lines (when capturing). */
  logs: Array<Record<string, unknown>>;
  nginx: RunningNginx;
}

/** A signaling server on a free port and an nginx derived from deploy/nginx.conf in front of it. */
async function stack(options: SignalingServerOptions, proxyTimeout?: string): Promise<Stack> {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const server = createSignalingServer({ port: 0, host: '127.0.0.1', logger, ...options });
  const url = await server.listen();
  cleanups.push(() => server.close());
  const ws = new Workspace('nginx');
  workspaces.push(ws);
  const nginx = await startNginx(ws, cert, Number(new URL(url).port), proxyTimeout);
  cleanups.push(() => nginx.stop());
  return { server, url, logs, nginx };
}

let main: Stack;

before(async () => {
  const certs = new Workspace('nginx-cert');
  workspaces.push(certs);
  cert = makeCertificate(certs);
  main = await stack({ trustProxy: true, pingIntervalMs: PING_MS });
  browser = await launchChromium({ extraArgs: ['--ignore-certificate-errors'] });
});

after(async () => {
  await browser?.close();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  for (const ws of workspaces) ws.remove();
});

const wsUrl = (nginx: RunningNginx) => `wss://127.0.0.1:${nginx.httpsPort}/ws`;

/** Resolves after the client has answered `count` pings from the server, or rejects if the socket closes first. */
function survivesPings(socket: WebSocket, count: number, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => reject(new Error(`only ${seen} of ${count} pings within ${timeoutMs} ms`)), timeoutMs);
    const onClose = (code: number) => {
      clearTimeout(timer);
      reject(new Error(`closed (${code}) after ${seen} pings`));
    };
    socket.once('close', onClose);
    socket.on('ping', () => {
      if (++seen < count) return;
      clearTimeout(timer);
      socket.off('close', onClose);
      resolve();
    });
  });
}

describe('nginx with deploy/nginx.conf', () => {
  test('the shipped site: WebSocket headers, timeouts well above the heartbeat, TLS 1.2+, HSTS, upstream = env file', () => {
    const site = deployFile('nginx.conf');
    assert.match(site.replace(/#.*$/gm, ''), /map\s+\$http_upgrade\s+\$connection_upgrade\s*\{\s*default\s+upgrade;\s*''\s+close;\s*\}/);
    const https = nginxServer(site, /^443 ssl http2$/);
    const ws = nginxLocation(https, '= /ws');
    const root = nginxLocation(https, '/');
    assert.deepEqual(nginxDirectives(nginxServer(site, /^80$/), 'return'), ['301 https://$server_name$request_uri']);
    for (const [block, name] of [[ws, '/ws'], [root, '/']] as const) {
      assert.deepEqual(nginxDirectives(block, 'proxy_http_version'), ['1.1'], `${name}: HTTP/1.1 upstream`);
      const headers = nginxDirectives(block, 'proxy_set_header');
      assert.ok(headers.includes('X-Forwarded-For $proxy_add_x_forwarded_for'), `${name}: X-Forwarded-For appended`);
      assert.ok(headers.includes('X-Forwarded-Proto $scheme'), `${name}: X-Forwarded-Proto`);
      assert.ok(headers.includes('Host $host'), `${name}: Host`);
    }
    assert.deepEqual(nginxDirectives(root, 'gzip'), ['off'], '/: the server precompresses; nginx passes its codings through');
    const wsHeaders = nginxDirectives(ws, 'proxy_set_header');
    assert.ok(wsHeaders.includes('Upgrade $http_upgrade') && wsHeaders.includes('Connection $connection_upgrade'), 'upgrade headers on /ws');

    // nginx drops a WebSocket silent for proxy_read_timeout; the server's pings keep it busy.
    const env = parseEnvFile(deployFile('p2p-call.env'));
    const ping = Number(env.get('P2P_PING_INTERVAL_MS') ?? DEFAULTS.pingIntervalMs);
    for (const directive of ['proxy_read_timeout', 'proxy_send_timeout']) {
      const [value] = nginxDirectives(ws, directive);
      assert.ok(value !== undefined, `${directive} set on /ws`);
      const ms = nginxTimeMs(value);
      assert.ok(ms >= 3 * ping, `${directive} ${value} must exceed the ${ping} ms heartbeat several times`);
      assert.ok(ms >= 3 * DEFAULTS.pingIntervalMs, `${directive} ${value} vs the default heartbeat ${DEFAULTS.pingIntervalMs} ms`);
    }

    assert.deepEqual(nginxDirectives(https, 'ssl_protocols'), ['TLSv1.2 TLSv1.3']);
    const hsts = nginxDirectives(https, 'add_header').find((h) => h.startsWith('Strict-Transport-Security'));
    assert.match(hsts ?? '', /max-age=(\d+)" always$/);
    assert.ok(Number(/max-age=(\d+)/.exec(hsts ?? '')?.[1]) >= 31_536_000, 'HSTS for at least a year');
    assert.deepEqual(nginxDirectives(site, 'proxy_pass'), Array(2).fill(`http://${env.get('HOST')}:${env.get('PORT')}`), 'nginx proxies to HOST:PORT of the env file');
  });

  test('the test derivation fails loudly when the shipped site loses a directive it rewrites', () => {
    const shipped = deployFile('nginx.conf');
    const options = { httpPort: 1, httpsPort: 2, cert: 'c', key: 'k', upstreamPort: 3 };
    assert.doesNotThrow(() => deriveNginxSite(shipped, options));
    assert.throws(() => deriveNginxSite(shipped.replace('listen 443 ssl http2;', 'listen 443 ssl;'), options), /deploy\/nginx\.conf: expected 1 match/);
    assert.throws(() => deriveNginxSite(shipped.replace('proxy_pass http://127.0.0.1:8080;', 'proxy_pass http://backend;'), options), /expected 2 match/);
  });

  test("the site passes nginx -t inside Debian's stock /etc/nginx/nginx.conf", (t) => {
    const stockFile = '/etc/nginx/nginx.conf';
    if (!existsSync(stockFile)) return t.skip('no /etc/nginx/nginx.conf here');
    const ws = new Workspace('nginx-stock');
    workspaces.push(ws);
    const site = ws.write('site.conf', deriveNginxSite(deployFile('nginx.conf'), {
      httpPort: main.nginx.httpPort, httpsPort: main.nginx.httpsPort, cert: cert.cert, key: cert.key, upstreamPort: 9,
    }));
    // The stock file as shipped by Debian, with only its own paths moved into the workspace.
    let stock = readFileSync(stockFile, 'utf8');
    const file = stockFile;
    stock = substitute(stock, file, /^\s*include \/etc\/nginx\/sites-enabled\/\*;$/gm, `\tinclude ${site};`);
    stock = substitute(stock, file, /^pid \S+;$/gm, `pid ${ws.path('nginx.pid')};`);
    stock = stock.replace(/^(\s*)(error_log|access_log) \/var\/log\/nginx\/\S+;$/gm, (_m, indent: string, name: string) => `${indent}${name} ${ws.path(`${name}.log`)};`);
    stock = substitute(stock, file, /^http \{$/gm, `http {\n${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((name) => `\t${name}_temp_path ${ws.path(name)};`).join('\n')}`);
    const conf = ws.write('nginx.conf', stock);
    execFileSync('nginx', ['-t', '-q', '-c', conf, '-p', ws.dir], { stdio: 'pipe' });
  });

  test('plain HTTP redirects to https://calls.example.com with path and query', async () => {
    const answer = await get(`http://127.0.0.1:${main.nginx.httpPort}/r/standup-42?lang=en`);
    assert.equal(answer.status, 301);
    assert.equal(answer.headers.location, 'https://calls.example.com/r/standup-42?lang=en');
  });

  test('HTTPS: TLS 1.2 and 1.3 with HTTP/2, HSTS, /healthz from the server', async () => {
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const socket = tlsConnect({ host: '127.0.0.1', port: main.nginx.httpsPort, ca: cert.pem, minVersion: version, maxVersion: version, ALPNProtocols: ['h2', 'http/1.1'] });
      const [protocol, alpn] = await new Promise<[string | null, string | false]>((resolve, reject) => {
        socket.once('secureConnect', () => resolve([socket.getProtocol(), socket.alpnProtocol ?? false]));
        socket.once('error', reject);
      });
      socket.destroy();
      assert.equal(protocol, version);
      assert.equal(alpn, 'h2', 'http2 on the 443 listener');
    }
    const health = await get(`${main.nginx.origin}/healthz`, { ca: cert.pem });
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { ok: true, protocols: ['p2p-call.v1'] });
    assert.equal(health.headers['strict-transport-security'], 'max-age=63072000');
  });

  test("the script-tag bundle comes through nginx with the server's own coding, cache, CORS and ETag headers", async () => {
    // nginx passes Accept-Encoding up and the server's precompressed answer down untouched.
    for (const coding of ['br', 'gzip', undefined]) {
      const headers: Record<string, string> = coding === undefined ? {} : { 'Accept-Encoding': coding };
      const direct = await get(`${main.url}/p2p-call.js`, { headers });
      const proxied = await get(`${main.nginx.origin}/p2p-call.js`, { ca: cert.pem, headers });
      assert.equal(direct.status, 200, 'the bundle is built (npm run build)');
      assert.equal(proxied.status, 200);
      assert.equal(proxied.headers['content-encoding'], coding, `${String(coding)}: the server's coding`);
      for (const header of ['cache-control', 'etag', 'vary', 'content-encoding', 'access-control-allow-origin', 'cross-origin-resource-policy', 'content-type']) {
        assert.equal(proxied.headers[header], direct.headers[header], `${String(coding)}: ${header}`);
      }
      assert.equal(proxied.headers['cache-control'], 'public, max-age=300');
      assert.equal(proxied.headers['vary'], 'Accept-Encoding');
      assert.equal(proxied.body, direct.body, `${String(coding)}: the same bytes`);
      const again = await get(`${main.nginx.origin}/p2p-call.js`, { ca: cert.pem, headers: { ...headers, 'If-None-Match': String(proxied.headers.etag) } });
      assert.equal(again.status, 304, `${String(coding)}: revalidation passes through nginx`);
    }
  });

  test('two demo pages call each other over https and wss through nginx', async () => {
    assert.ok(browser);
    const room = `nginx-${Date.now()}`;
    const url = `${main.nginx.origin}/r/${room}`;
    await twoPageCall(browser, url, ['button', 'button'], async () => {
      const opened = main.logs.filter((line) => line['msg'] === 'connection opened');
      assert.ok(opened.length >= 2 && opened.every((line) => line['address'] === '127.0.0.1'), JSON.stringify(opened));
    });
  });

  test('an idle WebSocket through nginx stays open across server heartbeats', async () => {
    const outcome = await openSocket(wsUrl(main.nginx), { ca: cert.pem });
    assert.ok(outcome.socket, `upgrade refused: ${outcome.status}`);
    try {
      // Three pings answered = more than two heartbeat periods with no message either way.
      await survivesPings(outcome.socket, 3);
    } finally {
      outcome.socket.terminate();
    }
  });

  test('scaled down (proxy timeouts 1 s): pings keep a socket open past the timeout; without them nginx closes it', async () => {
    const beating = await stack({ pingIntervalMs: PING_MS }, '1s');
    const silent = await stack({ pingIntervalMs: 3_600_000 }, '1s');
    const kept = await openSocket(wsUrl(beating.nginx), { ca: cert.pem });
    // Before the upgrade: nginx starts its read timer after it, so the close comes at least 1 s later.
    const opened = Date.now();
    const dropped = await openSocket(wsUrl(silent.nginx), { ca: cert.pem });
    assert.ok(kept.socket && dropped.socket);
    const closedAfter = new Promise<number>((resolve) => dropped.socket.once('close', () => resolve(Date.now() - opened)));
    try {
      // 8 pings: 3.2 s, well past the 1 s timeout.
      await survivesPings(kept.socket, 8);
      const elapsed = await closedAfter;
      assert.ok(elapsed >= 950 && elapsed < 6_000, `the silent socket was closed by nginx after ${elapsed} ms`);
    } finally {
      kept.socket.terminate();
      dropped.socket.terminate();
    }
  });
});

describe('--trust-proxy behind nginx', () => {
  test('on: clients are counted by the address nginx appends; a forged X-Forwarded-For does not get past the limit', async () => {
    const { logs, nginx } = await stack({ trustProxy: true, maxConnectionsPerIp: 1 });
    const opened: WebSocket[] = [];
    try {
      const first = await openSocket(wsUrl(nginx), { ca: cert.pem, localAddress: '127.0.0.2' });
      assert.ok(first.socket, `first client refused: ${first.status}`);
      opened.push(first.socket);
      const second = await openSocket(wsUrl(nginx), { ca: cert.pem, localAddress: '127.0.0.2' });
      assert.equal(second.status, 503, 'the same client address again: over the per-address limit');
      const forged = await openSocket(wsUrl(nginx), { ca: cert.pem, localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '1.2.3.4' } });
      assert.equal(forged.status, 503, 'a forged X-Forwarded-For is left of the entry nginx appends, and ignored');
      const other = await openSocket(wsUrl(nginx), { ca: cert.pem, localAddress: '127.0.0.3' });
      assert.ok(other.socket, `another client address is counted separately, got ${other.status}`);
      opened.push(other.socket);

      const addresses = logs.filter((l) => l['msg'] === 'connection opened' || l['msg'] === 'upgrade refused').map((l) => `${String(l['msg'])} ${String(l['address'])}`);
      assert.deepEqual(addresses, [
        'connection opened 127.0.0.2',
        'upgrade refused 127.0.0.2',
        'upgrade refused 127.0.0.2',
        'connection opened 127.0.0.3',
      ]);
    } finally {
      for (const socket of opened) socket.terminate();
    }
  });

  test('off: every client behind nginx is 127.0.0.1, so one client uses up the limit for all', async () => {
    const { logs, nginx } = await stack({ trustProxy: false, maxConnectionsPerIp: 1 });
    const first = await openSocket(wsUrl(nginx), { ca: cert.pem, localAddress: '127.0.0.2' });
    assert.ok(first.socket, `first client refused: ${first.status}`);
    try {
      const other = await openSocket(wsUrl(nginx), { ca: cert.pem, localAddress: '127.0.0.3' });
      assert.equal(other.status, 503, 'a different client is refused: the server only sees nginx');
      const addresses = logs.filter((l) => l['msg'] === 'connection opened' || l['msg'] === 'upgrade refused').map((l) => String(l['address']));
      assert.deepEqual(addresses, ['127.0.0.1', '127.0.0.1']);
    } finally {
      first.socket.terminate();
    }
  });
});
