/**
 * Plumbing for the deployment tests: temp workspaces, a throwaway certificate, free ports,
 * child processes with captured output, and the derivation of runnable test configurations
 * FROM the files shipped in deploy/. Every derivation names the directives it rewrites and
 * fails loudly when one is missing, so the shipped files cannot drift from what is tested.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WebSocket } from 'ws';
import { SUPPORTED_PROTOCOLS } from '../../sdk/protocol.js';
import { freeTcpPort } from '../ports.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DEPLOY_DIR = join(ROOT, 'deploy');

/** A shipped deployment file, as text. */
export function deployFile(name: string): string {
  return readFileSync(join(DEPLOY_DIR, name), 'utf8');
}

/** A private temp directory; `remove()` deletes it (call it from `after`). */
export class Workspace {
  readonly dir: string;

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), `p2p-call-deploy-${prefix}-`));
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  write(name: string, text: string, mode = 0o644): string {
    const file = this.path(name);
    writeFileSync(file, text, { mode });
    chmodSync(file, mode);
    return file;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
  }
}

export interface Certificate {
  cert: string;
  key: string;
  /** The certificate PEM: self-signed, so it is also the CA that verifies it. */
  pem: string;
}

/** A self-signed P-256 certificate for 127.0.0.1, valid one day. */
export function makeCertificate(ws: Workspace, name = 'tls'): Certificate {
  const cert = ws.path(`${name}-cert.pem`);
  const key = ws.path(`${name}-key.pem`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'pipe' });
  chmodSync(key, 0o600);
  return { cert, key, pem: readFileSync(cert, 'utf8') };
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port` (bounded retries). */
export async function waitForTcp(port: number, timeoutMs = 5_000, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; Date.now() < deadline && attempt < 500; attempt++) {
    if (!alive()) throw new Error(`the process that should listen on ${port} exited`);
    const ok = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (ok) return;
    // Nothing to wait on but the port itself: retry on a short timer, bounded above.
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/**
 * Replaces every match of the global `pattern` in a shipped file, after checking there are
 * exactly `expected` of them. A mismatch means the shipped file changed shape: fail, naming it.
 */
export function substitute(text: string, file: string, pattern: RegExp, replacement: string, expected = 1): string {
  if (!pattern.global) throw new Error(`substitute() needs a global pattern, got ${pattern}`);
  const found = text.match(pattern)?.length ?? 0;
  if (found !== expected) {
    throw new Error(`${file}: expected ${expected} match(es) of ${pattern}, found ${found}; update the test's derivation with the file`);
  }
  return text.replace(pattern, () => replacement);
}

export interface ManagedProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output (past or future). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** Sends `signal` (SIGTERM) and waits for the exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a child process with its output captured (never inherited). */
export function startProcess(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ManagedProcess {
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of [...listeners]) listener();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let isRunning = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('error', (error) => {
      output += `\n[spawn error] ${error.message}\n`;
      isRunning = false;
      done({ code: null, signal: null });
      for (const listener of [...listeners]) listener();
    });
    child.once('exit', (code, signal) => {
      isRunning = false;
      done({ code, signal });
      for (const listener of [...listeners]) listener();
    });
  });
  return {
    child,
    exited,
    output: () => output,
    running: () => isRunning,
    waitForOutput(pattern, timeoutMs = 10_000) {
      return new Promise((done, fail) => {
        const check = () => {
          const match = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(output);
          if (match !== null) {
            finish();
            done(match);
          } else if (!isRunning) {
            finish();
            fail(new Error(`${command} exited before printing ${pattern}:\n${output}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          fail(new Error(`${command} did not print ${pattern} within ${timeoutMs} ms:\n${output}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 5_000) {
      if (isRunning) {
        child.kill(signal);
        const timer = setTimeout(() => {
          if (isRunning) child.kill('SIGKILL');
        }, timeoutMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// nginx: deploy/nginx.conf

/** The values of every `name ...;` directive in an nginx config (comments stripped). */
export function nginxDirectives(config: string, name: string): string[] {
  const code = config.replace(/#.*$/gm, '');
  return [...code.matchAll(new RegExp(`(?:^|[\\s{;])${name}\\s+([^;{}]*);`, 'g'))].map((m) => (m[1] as string).trim());
}

/** The bodies of the top-level `server { ... }` blocks (comments stripped). */
export function nginxServers(config: string): string[] {
  const code = config.replace(/#.*$/gm, '');
  const bodies: string[] = [];
  for (const match of code.matchAll(/(?:^|[\s;}])server\s*\{/g)) {
    const start = (match.index ?? 0) + match[0].length;
    let depth = 1;
    let i = start;
    for (; i < code.length && depth > 0; i++) {
      if (code[i] === '{') depth++;
      else if (code[i] === '}') depth--;
    }
    bodies.push(code.slice(start, i - 1));
  }
  return bodies;
}

/** The server block that has a `listen` directive matching `pattern`; exactly one must. */
export function nginxServer(config: string, listen: RegExp): string {
  const found = nginxServers(config).filter((body) => nginxDirectives(body, 'listen').some((value) => listen.test(value)));
  if (found.length !== 1) throw new Error(`deploy/nginx.conf: expected one server block listening on ${listen}, found ${found.length}`);
  return found[0] as string;
}

/** The body of the `location <selector> { ... }` block (no nested blocks expected). */
export function nginxLocation(config: string, selector: string): string {
  const code = config.replace(/#.*$/gm, '');
  const escaped = selector.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const match = new RegExp(`location\\s+${escaped}\\s*\\{([^{}]*)\\}`).exec(code);
  if (match?.[1] === undefined) throw new Error(`deploy/nginx.conf: no "location ${selector} { ... }" block`);
  return match[1];
}

/** nginx time syntax (`75s`, `1m`, `500ms`, bare seconds) in milliseconds. */
export function nginxTimeMs(value: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (match === null) throw new Error(`not an nginx time: ${value}`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] as number;
  return Number(match[1]) * unit;
}

export interface NginxSiteOptions {
  httpPort: number;
  httpsPort: number;
  cert: string;
  key: string;
  upstreamPort: number;
  /** Replace both WebSocket timeouts (nginx time syntax), e.g. '1s' for a scaled-down check. */
  proxyTimeout?: string;
}

/** Test listeners (loopback only, no IPv6) and the test certificate, in a shipped site `file`. */
function deriveNginxListeners(shipped: string, file: string, o: Omit<NginxSiteOptions, 'upstreamPort'>): string {
  let site = shipped;
  site = substitute(site, file, /^(\s*)listen 80;$/gm, `    listen 127.0.0.1:${o.httpPort};`);
  site = substitute(site, file, /^\s*listen \[::\]:80;$/gm, '    # (IPv6 listener dropped for the test)');
  site = substitute(site, file, /^\s*listen 443 ssl http2;$/gm, `    listen 127.0.0.1:${o.httpsPort} ssl http2;`);
  site = substitute(site, file, /^\s*listen \[::\]:443 ssl http2;$/gm, '    # (IPv6 listener dropped for the test)');
  site = substitute(site, file, /ssl_certificate \/etc\/letsencrypt\/live\/calls\.example\.com\/fullchain\.pem;/g, `ssl_certificate ${o.cert};`);
  site = substitute(site, file, /ssl_certificate_key \/etc\/letsencrypt\/live\/calls\.example\.com\/privkey\.pem;/g, `ssl_certificate_key ${o.key};`);
  if (o.proxyTimeout !== undefined) {
    site = substitute(site, file, /proxy_read_timeout [^;]+;/g, `proxy_read_timeout ${o.proxyTimeout};`);
    site = substitute(site, file, /proxy_send_timeout [^;]+;/g, `proxy_send_timeout ${o.proxyTimeout};`);
  }
  return site;
}

/** The shipped site with test ports, certificate and upstream; loopback only, no IPv6 listeners. */
export function deriveNginxSite(shipped: string, o: NginxSiteOptions): string {
  const file = 'deploy/nginx.conf';
  const site = deriveNginxListeners(shipped, file, o);
  return substitute(site, file, /proxy_pass http:\/\/127\.0\.0\.1:8080;/g, `proxy_pass http://127.0.0.1:${o.upstreamPort};`, 2);
}

/**
 * deploy/nginx-upstream.conf for a test: the same listeners and certificate as
 * {@link deriveNginxSite}, and the example's two `server 127.0.0.1:808x ...;` lines of the
 * `upstream p2p_call` block pointed at the test's nodes (their parameters kept as shipped).
 */
export function deriveNginxUpstreamSite(shipped: string, o: Omit<NginxSiteOptions, 'upstreamPort'> & { nodePorts: [number, number]; down?: number[] }): string {
  const file = 'deploy/nginx-upstream.conf';
  let site = deriveNginxListeners(shipped, file, o);
  site = substitute(site, file, /proxy_pass http:\/\/p2p_call;/g, 'proxy_pass http://p2p_call;', 2);
  o.nodePorts.forEach((port, i) => {
    const line = new RegExp(`^\\s*server 127\\.0\\.0\\.1:808${i + 1}((?: [^;]*)?);$`, 'gm');
    const parameters = line.exec(site)?.[1] ?? '';
    site = substitute(site, file, line, `    server 127.0.0.1:${port}${parameters}${o.down?.includes(i) ? ' down' : ''};`);
  });
  return site;
}

/** A main nginx.conf that runs without root paths: its own pid, logs and temp dirs, `include`s the site. */
export function nginxMainConfig(ws: Workspace, siteFile: string): string {
  const p = (name: string) => ws.path(name);
  return `daemon off;
worker_processes 1;
pid ${p('nginx.pid')};
error_log ${p('error.log')} info;
events { worker_connections 256; }
http {
    client_body_temp_path ${p('client_body')};
    proxy_temp_path ${p('proxy')};
    fastcgi_temp_path ${p('fastcgi')};
    uwsgi_temp_path ${p('uwsgi')};
    scgi_temp_path ${p('scgi')};
    access_log ${p('access.log')};
    # As in Debian's /etc/nginx/nginx.conf.
    gzip on;
    include ${siteFile};
}
`;
}

export interface RunningNginx {
  httpPort: number;
  httpsPort: number;
  /** https://127.0.0.1:<httpsPort> */
  origin: string;
  site: string;
  stop(): Promise<void>;
}

/** Derives the site from deploy/nginx.conf, checks it with `nginx -t`, runs nginx in `ws`. */
export async function startNginx(ws: Workspace, cert: Certificate, upstreamPort: number, proxyTimeout?: string): Promise<RunningNginx> {
  const httpPort = await freeTcpPort();
  const httpsPort = await freeTcpPort([httpPort]);
  // Workers run as "nobody" when the test runs as root: they must reach the temp dirs.
  chmodSync(ws.dir, 0o755);
  const site = deriveNginxSite(deployFile('nginx.conf'), {
    httpPort, httpsPort, cert: cert.cert, key: cert.key, upstreamPort, ...(proxyTimeout ? { proxyTimeout } : {}),
  });
  return runNginx(ws, site, httpPort, httpsPort);
}

/**
 * Derives the site from deploy/nginx-upstream.conf for two nodes, checks it, runs nginx in `ws`.
 * Nodes whose index is in `down` start marked `down`; `reload()` takes the shipped parameters
 * back for every node (a config reload, as an operator adds a node).
 */
export async function startNginxUpstream(ws: Workspace, cert: Certificate, nodePorts: [number, number], down: number[] = []): Promise<RunningNginx & { reload(): Promise<void> }> {
  const httpPort = await freeTcpPort(nodePorts);
  const httpsPort = await freeTcpPort([httpPort, ...nodePorts]);
  chmodSync(ws.dir, 0o755);
  const derive = (downNow: number[]) => deriveNginxUpstreamSite(deployFile('nginx-upstream.conf'), { httpPort, httpsPort, cert: cert.cert, key: cert.key, nodePorts, down: downNow });
  return runNginx(ws, derive(down), httpPort, httpsPort, derive([]));
}

async function runNginx(ws: Workspace, site: string, httpPort: number, httpsPort: number, nextSite = site): Promise<RunningNginx & { reload(): Promise<void> }> {
  const siteFile = ws.write('site.conf', site);
  const conf = ws.write('nginx.conf', nginxMainConfig(ws, siteFile));
  execFileSync('nginx', ['-t', '-q', '-c', conf, '-p', ws.dir], { stdio: 'pipe' });
  const nginx = startProcess('nginx', ['-c', conf, '-p', ws.dir]);
  try {
    await waitForTcp(httpsPort, 5_000, () => nginx.running());
    await waitForTcp(httpPort, 5_000, () => nginx.running());
  } catch (error) {
    await nginx.stop('SIGKILL');
    throw new Error(`${(error as Error).message}\n${nginx.output()}\n${readFileOr(ws.path('error.log'))}`);
  }
  return {
    httpPort,
    httpsPort,
    origin: `https://127.0.0.1:${httpsPort}`,
    site,
    async stop() {
      await nginx.stop('SIGTERM');
    },
    /** Writes `nextSite`, checks it with `nginx -t`, and has the running nginx load it (SIGHUP). */
    async reload() {
      ws.write('site.conf', nextSite);
      execFileSync('nginx', ['-t', '-q', '-c', conf, '-p', ws.dir], { stdio: 'pipe' });
      nginx.child.kill('SIGHUP');
    },
  };
}

export function readFileOr(file: string, fallback = ''): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

// ---------------------------------------------------------------------------------------------
// coturn: deploy/turnserver.conf

/** `name=value` / bare `name` lines of a turnserver.conf, in order (comments dropped). */
export function turnOptions(config: string): Array<{ name: string; value: string | undefined }> {
  return config.split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const eq = line.indexOf('=');
      return eq < 0 ? { name: line, value: undefined } : { name: line.slice(0, eq), value: line.slice(eq + 1) };
    });
}

export function turnOption(config: string, name: string): string | undefined {
  return turnOptions(config).find((o) => o.name === name)?.value;
}

export interface TurnserverOptions {
  secret: string;
  port: number;
  tlsPort: number;
  relay: { min: number; max: number };
  cert: Certificate;
  ws: Workspace;
}

/**
 * The shipped turnserver.conf for a test on loopback: test secret, ports, certificate, pid and
 * database in the workspace, log to stdout; listening and relaying on 127.0.0.1 (and ::1);
 * loopback peers allowed, i.e. the 127.0.0.0/8 denial removed — for the test only.
 */
export function deriveTurnserverConf(shipped: string, o: TurnserverOptions): string {
  const file = 'deploy/turnserver.conf';
  let conf = shipped;
  conf = substitute(conf, file, /^static-auth-secret=.*$/gm, `static-auth-secret=${o.secret}`);
  conf = substitute(conf, file, /^external-ip=[^/\s]+\/[^/\s]+$/gm, 'external-ip=127.0.0.1/127.0.0.1');
  conf = substitute(conf, file, /^listening-port=3478$/gm, `listening-port=${o.port}`);
  conf = substitute(conf, file, /^tls-listening-port=5349$/gm, `tls-listening-port=${o.tlsPort}`);
  conf = substitute(conf, file, /^min-port=\d+$/gm, `min-port=${o.relay.min}`);
  conf = substitute(conf, file, /^max-port=\d+$/gm, `max-port=${o.relay.max}`);
  conf = substitute(conf, file, /^cert=.*$/gm, `cert=${o.cert.cert}`);
  conf = substitute(conf, file, /^pkey=.*$/gm, `pkey=${o.cert.key}`);
  conf = substitute(conf, file, /^log-file=.*$/gm, 'log-file=stdout');
  conf = substitute(conf, file, /^denied-peer-ip=127\.0\.0\.0-127\.255\.255\.255$/gm, '# (127.0.0.0/8 allowed for the test)');
  return `${conf}
# --- Test only ---
listening-ip=127.0.0.1
listening-ip=::1
relay-ip=127.0.0.1
relay-ip=::1
allow-loopback-peers
pidfile=${o.ws.path('turnserver.pid')}
userdb=${o.ws.path('turndb')}
`;
}

// ---------------------------------------------------------------------------------------------
// The environment file: deploy/p2p-call.env

/** Parses a systemd EnvironmentFile the simple way the shipped one is written (KEY=value). */
export function parseEnvFile(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match === null) throw new Error(`deploy/p2p-call.env: not VARIABLE=value: ${line}`);
    vars.set(match[1] as string, match[2] as string);
  }
  return vars;
}

/** The shipped variables with `overrides` applied; each overridden variable must be in the file. */
export function deriveEnv(text: string, overrides: Record<string, string>): Record<string, string> {
  const vars = parseEnvFile(text);
  for (const [name, value] of Object.entries(overrides)) {
    if (!vars.has(name)) throw new Error(`deploy/p2p-call.env: expected a ${name}= line`);
    vars.set(name, value);
  }
  return Object.fromEntries(vars);
}

// ---------------------------------------------------------------------------------------------
// Clients

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** GET over http or https; `ca` trusts the test certificate (no verification is switched off). */
export function get(url: string, options: { ca?: string; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(target, { method: 'GET', headers: options.headers ?? {}, ...(options.ca ? { ca: options.ca } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

export type SocketOutcome = { socket: WebSocket; status?: undefined } | { socket?: undefined; status: number };

/** Opens a signaling WebSocket (subprotocol p2p-call.v1); resolves with it, or with the HTTP status of a refusal. */
export function openSocket(url: string, options: { ca?: string; localAddress?: string; headers?: Record<string, string> } = {}): Promise<SocketOutcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, [...SUPPORTED_PROTOCOLS], {
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      headers: options.headers ?? {},
      handshakeTimeout: 10_000,
    });
    socket.once('open', () => resolve({ socket }));
    socket.once('unexpected-response', (req, res) => {
      socket.on('error', () => {}); // the aborted handshake may still report itself
      res.resume();
      req.destroy();
      resolve({ status: res.statusCode ?? 0 });
    });
    socket.once('error', reject);
  });
}
