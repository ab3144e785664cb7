/**
 * Server configuration: defaults and validation of `resolveOptions`, the flag/env reader
 * `optionsFromCommandLine`, and the built CLI end to end (start line, graceful shutdown on
 * SIGTERM/SIGINT, exit code 2 on a bad option, logs that keep secrets and payloads out).
 * Expected values are written out from EMBED.md, not imported, so a drifting default fails.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { ConfigError, optionsFromCommandLine, resolveOptions, type SignalingServerOptions } from '../../server/config.js';
import { TestClient, withTimeout } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = 'dist/server/cli.js';

function throwsConfigError(fn: () => unknown, naming: RegExp | RegExp[]): void {
  const patterns = Array.isArray(naming) ? naming : [naming];
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

describe('resolveOptions: defaults are the ones EMBED.md documents', () => {
  test('an empty options object resolves to the documented defaults', () => {
    const resolved = resolveOptions({});
    assert.equal(resolved.port, 8080);
    assert.equal(resolved.host, '127.0.0.1');
    assert.deepEqual(resolved.allowedOrigins, [], 'all origins allowed');
    assert.equal(resolved.tokenSecret, undefined, 'open rooms');
    assert.equal(resolved.turnSecret, undefined);
    assert.deepEqual(resolved.turnUrls, []);
    assert.deepEqual(resolved.stunUrls, []);
    assert.equal(resolved.turnTtl, 86_400);
    assert.equal(resolved.reconnectGraceMs, 15_000);
    assert.equal(resolved.pingIntervalMs, 15_000);
    assert.equal(resolved.maxPayload, 65_536);
    assert.equal(resolved.rateLimit, 100);
    assert.equal(resolved.maxConnections, 10_000);
    assert.equal(resolved.maxConnectionsPerIp, 50);
    assert.equal(resolved.maxRooms, 10_000);
    assert.equal(resolved.trustProxy, false);
    assert.equal(resolved.tlsCert, undefined);
    assert.equal(resolved.tlsKey, undefined);
    assert.equal(resolved.redisUrl, undefined, 'single node');
  });

  test('calling it without an argument gives the same defaults', () => {
    assert.deepEqual(resolveOptions(), resolveOptions({}));
  });

  test('given values replace the defaults', () => {
    const resolved = resolveOptions({ port: 0, rateLimit: 7, trustProxy: true, allowedOrigins: ['https://a.example'] });
    assert.equal(resolved.port, 0);
    assert.equal(resolved.rateLimit, 7);
    assert.equal(resolved.trustProxy, true);
    assert.deepEqual(resolved.allowedOrigins, ['https://a.example']);
  });
});

describe('resolveOptions: a bad value throws a ConfigError that names the option', () => {
  test('port 70000', () => throwsConfigError(() => resolveOptions({ port: 70_000 }), /port/));
  test('port -1', () => throwsConfigError(() => resolveOptions({ port: -1 }), /port/));
  test('rateLimit 0', () => throwsConfigError(() => resolveOptions({ rateLimit: 0 }), /rateLimit/));
  test('pingIntervalMs below 10', () => throwsConfigError(() => resolveOptions({ pingIntervalMs: 5 }), /pingIntervalMs/));
  test('maxPayload below 1024', () => throwsConfigError(() => resolveOptions({ maxPayload: 100 }), /maxPayload/));
  test('tokenSecret shorter than 16 characters', () =>
    throwsConfigError(() => resolveOptions({ tokenSecret: 'short' }), /tokenSecret/));
  test('turnUrls without turnSecret', () =>
    throwsConfigError(() => resolveOptions({ turnUrls: ['turn:turn.example.com:3478'] }), [/turnUrls/, /turnSecret/]));
  test('turnSecret without turnUrls', () =>
    throwsConfigError(() => resolveOptions({ turnSecret: 'a-turn-secret-of-enough-length' }), /turnSecret/));
  test('a STUN URL with the wrong scheme', () =>
    throwsConfigError(() => resolveOptions({ stunUrls: ['http://stun.example.com:3478'] }), /stunUrls/));
  test('a TURN URL with the wrong scheme', () =>
    throwsConfigError(
      () => resolveOptions({ turnSecret: 'a-turn-secret-of-enough-length', turnUrls: ['stun:turn.example.com'] }),
      /turnUrls/,
    ));
  test('allowedOrigins entry that is not a URL', () =>
    throwsConfigError(() => resolveOptions({ allowedOrigins: ['not a url'] }), /allowedOrigins/));
  test('tlsCert without tlsKey', () => throwsConfigError(() => resolveOptions({ tlsCert: '/tmp/cert.pem' }), /tlsKey/));
  test('tlsKey without tlsCert', () => throwsConfigError(() => resolveOptions({ tlsKey: '/tmp/key.pem' }), /tlsCert/));
  test('redisUrl that is not a redis: or rediss: URL', () =>
    throwsConfigError(() => resolveOptions({ redisUrl: 'http://127.0.0.1:6379' }), /redisUrl/));
  test('redisUrl errors never print the password', () =>
    assert.throws(() => resolveOptions({ redisUrl: 'redis://user:s3cret@127.0.0.1:6379,nope' }), (error: Error) =>
      error instanceof ConfigError && !error.message.includes('s3cret')));
  test('redisCluster without redisUrl', () => throwsConfigError(() => resolveOptions({ redisCluster: true }), /redisCluster/));
  test('a redisKeyPrefix with a brace (it would move rooms between Cluster slots)', () =>
    throwsConfigError(() => resolveOptions({ redisKeyPrefix: 'p{2}p:' }), /redisKeyPrefix/));
  test('a metricsToken shorter than 16 characters', () => throwsConfigError(() => resolveOptions({ metricsToken: 'short' }), /metricsToken/));
  test('an unknown log level', () =>
    throwsConfigError(() => resolveOptions({ logLevel: 'loud' as SignalingServerOptions['logLevel'] }), /logLevel/));
});

/** Every row of EMBED.md's server table, with one sample value and what it must parse to. */
const TABLE: { flag: string; env: string; raw: string; key: keyof SignalingServerOptions; value: unknown }[] = [
  { flag: 'port', env: 'PORT', raw: '9000', key: 'port', value: 9000 },
  { flag: 'host', env: 'HOST', raw: '0.0.0.0', key: 'host', value: '0.0.0.0' },
  {
    flag: 'allowed-origins',
    env: 'P2P_ALLOWED_ORIGINS',
    raw: 'https://a.example,https://b.example:8443',
    key: 'allowedOrigins',
    value: ['https://a.example', 'https://b.example:8443'],
  },
  { flag: 'token-secret', env: 'P2P_TOKEN_SECRET', raw: 'token-secret-0123456789', key: 'tokenSecret', value: 'token-secret-0123456789' },
  { flag: 'turn-secret', env: 'P2P_TURN_SECRET', raw: 'turn-secret-0123456789', key: 'turnSecret', value: 'turn-secret-0123456789' },
  {
    flag: 'turn-urls',
    env: 'P2P_TURN_URLS',
    raw: 'turn:turn.example.com:3478,turns:turn.example.com:5349',
    key: 'turnUrls',
    value: ['turn:turn.example.com:3478', 'turns:turn.example.com:5349'],
  },
  { flag: 'stun-urls', env: 'P2P_STUN_URLS', raw: 'stun:stun.example.com:3478', key: 'stunUrls', value: ['stun:stun.example.com:3478'] },
  { flag: 'turn-ttl', env: 'P2P_TURN_TTL', raw: '600', key: 'turnTtl', value: 600 },
  { flag: 'reconnect-grace-ms', env: 'P2P_RECONNECT_GRACE_MS', raw: '2500', key: 'reconnectGraceMs', value: 2500 },
  { flag: 'ping-interval-ms', env: 'P2P_PING_INTERVAL_MS', raw: '3000', key: 'pingIntervalMs', value: 3000 },
  { flag: 'max-payload', env: 'P2P_MAX_PAYLOAD', raw: '4096', key: 'maxPayload', value: 4096 },
  { flag: 'rate-limit', env: 'P2P_RATE_LIMIT', raw: '25', key: 'rateLimit', value: 25 },
  { flag: 'max-connections', env: 'P2P_MAX_CONNECTIONS', raw: '70', key: 'maxConnections', value: 70 },
  { flag: 'max-connections-per-ip', env: 'P2P_MAX_CONNECTIONS_PER_IP', raw: '7', key: 'maxConnectionsPerIp', value: 7 },
  { flag: 'max-rooms', env: 'P2P_MAX_ROOMS', raw: '33', key: 'maxRooms', value: 33 },
  { flag: 'trust-proxy', env: 'P2P_TRUST_PROXY', raw: 'true', key: 'trustProxy', value: true },
  { flag: 'tls-cert', env: 'P2P_TLS_CERT', raw: '/etc/ssl/cert.pem', key: 'tlsCert', value: '/etc/ssl/cert.pem' },
  { flag: 'tls-key', env: 'P2P_TLS_KEY', raw: '/etc/ssl/key.pem', key: 'tlsKey', value: '/etc/ssl/key.pem' },
  { flag: 'redis-url', env: 'P2P_REDIS_URL', raw: 'redis://127.0.0.1:6379', key: 'redisUrl', value: 'redis://127.0.0.1:6379' },
  { flag: 'redis-cluster', env: 'P2P_REDIS_CLUSTER', raw: 'true', key: 'redisCluster', value: true },
  { flag: 'redis-key-prefix', env: 'P2P_REDIS_KEY_PREFIX', raw: 'calls:', key: 'redisKeyPrefix', value: 'calls:' },
  { flag: 'metrics-token', env: 'P2P_METRICS_TOKEN', raw: 'metrics-token-0123456789', key: 'metricsToken', value: 'metrics-token-0123456789' },
];

function expectedFromTable(): Record<string, unknown> {
  return Object.fromEntries(TABLE.map((row) => [row.key, row.value]));
}

describe('optionsFromCommandLine: every flag of the table maps to its field', () => {
  for (const row of TABLE) {
    test(`--${row.flag} ${row.raw} sets ${row.key}`, () => {
      assert.deepEqual(optionsFromCommandLine([`--${row.flag}`, row.raw], {}), { [row.key]: row.value });
    });
  }

  test('all flags at once map to all fields', () => {
    const argv = TABLE.flatMap((row) => [`--${row.flag}`, row.raw]);
    assert.deepEqual(optionsFromCommandLine(argv, {}), expectedFromTable());
  });

  test('--log-level sets logLevel', () => {
    assert.deepEqual(optionsFromCommandLine(['--log-level', 'warn'], {}), { logLevel: 'warn' });
  });

  test('--flag=value is the same as --flag value', () => {
    assert.deepEqual(optionsFromCommandLine(['--port=9001', '--allowed-origins=https://a.example'], {}), {
      port: 9001,
      allowedOrigins: ['https://a.example'],
    });
  });

  test('no flags and no env give an empty options object (defaults apply later)', () => {
    assert.deepEqual(optionsFromCommandLine([], {}), {});
  });
});

describe('optionsFromCommandLine: --trust-proxy is a switch', () => {
  test('--trust-proxy alone is true', () => {
    assert.deepEqual(optionsFromCommandLine(['--trust-proxy'], {}), { trustProxy: true });
  });

  test('--trust-proxy followed by another flag is true and the other flag is read', () => {
    assert.deepEqual(optionsFromCommandLine(['--trust-proxy', '--port', '9002'], {}), { trustProxy: true, port: 9002 });
  });

  test('--trust-proxy false is false', () => {
    assert.deepEqual(optionsFromCommandLine(['--trust-proxy', 'false'], {}), { trustProxy: false });
  });
});

describe('optionsFromCommandLine: environment variables map to the same fields', () => {
  for (const row of TABLE) {
    test(`${row.env}=${row.raw} sets ${row.key}`, () => {
      assert.deepEqual(optionsFromCommandLine([], { [row.env]: row.raw }), { [row.key]: row.value });
    });
  }

  test('all variables at once map to all fields', () => {
    const env = Object.fromEntries(TABLE.map((row) => [row.env, row.raw]));
    assert.deepEqual(optionsFromCommandLine([], env), expectedFromTable());
  });

  test('unrelated variables are ignored', () => {
    assert.deepEqual(optionsFromCommandLine([], { PATH: '/usr/bin', NODE_ENV: 'production', P2P_UNKNOWN: '1' }), {});
  });
});

describe('optionsFromCommandLine: flags win over the environment', () => {
  test('--port beats PORT, and env-only options are still read', () => {
    const options = optionsFromCommandLine(['--port', '9003', '--rate-limit', '5'], {
      PORT: '7000',
      P2P_RATE_LIMIT: '50',
      P2P_MAX_ROOMS: '12',
    });
    assert.deepEqual(options, { port: 9003, rateLimit: 5, maxRooms: 12 });
  });

  test('--trust-proxy false beats P2P_TRUST_PROXY=true', () => {
    assert.deepEqual(optionsFromCommandLine(['--trust-proxy=false'], { P2P_TRUST_PROXY: 'true' }), { trustProxy: false });
  });
});

describe('optionsFromCommandLine: mistakes are errors, not ignored', () => {
  test('an unknown flag throws a ConfigError naming it', () =>
    throwsConfigError(() => optionsFromCommandLine(['--prot', '9000'], {}), /prot/));
  test('a bare argument throws', () => throwsConfigError(() => optionsFromCommandLine(['9000'], {}), /9000/));
  test('--port abc throws naming port', () => throwsConfigError(() => optionsFromCommandLine(['--port', 'abc'], {}), /port/));
  test('--rate-limit 1.5 throws naming rate-limit', () =>
    throwsConfigError(() => optionsFromCommandLine(['--rate-limit', '1.5'], {}), /rate-limit/));
  test('PORT=abc throws naming PORT', () => throwsConfigError(() => optionsFromCommandLine([], { PORT: 'abc' }), /PORT/));
  test('a flag without its value throws', () => throwsConfigError(() => optionsFromCommandLine(['--port'], {}), /port/));
  test('--trust-proxy maybe throws', () =>
    throwsConfigError(() => optionsFromCommandLine(['--trust-proxy', 'maybe'], {}), /trust-proxy/));
});

// ---------------------------------------------------------------------------------------------
// The built CLI, end to end

let build: Promise<void> | undefined;

/** Builds dist/ once per run with the project's own build config. */
function ensureBuilt(): Promise<void> {
  build ??= new Promise<void>((resolve, reject) => {
    const result = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
    if (result.status === 0) resolve();
    else reject(new Error(`build failed (status ${result.status}):\n${result.stdout}\n${result.stderr}`));
  });
  return build;
}

interface Cli {
  child: ChildProcess;
  /** Everything written so far. */
  output: { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

function startCli(args: string[]): Cli {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  running.add(child);
  const output = { stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, output, exited };
}

/** Kills (by handle) any CLI a failed test left running, so the test process can exit. */
function killLeftovers(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** JSON log lines written so far (non-JSON lines are kept as `{ raw }`). */
function logLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return { raw: line };
      }
    });
}

/** Waits for the start line (`"msg":"listening"` with a `url`) and returns the URL. */
function listeningUrl(cli: Cli, timeoutMs = 10_000): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = logLines(cli.output.stdout).find((entry) => entry['msg'] === 'listening' && typeof entry['url'] === 'string');
        if (line !== undefined) {
          cli.child.stdout?.off('data', check);
          resolve(line['url'] as string);
        }
      };
      cli.child.stdout?.on('data', check);
      check();
      cli.exited.then(({ code, signal }) =>
        reject(new Error(`cli exited (code ${code}, signal ${signal}) before listening:\n${cli.output.stdout}\n${cli.output.stderr}`)),
      );
    }),
    timeoutMs,
    'no "listening" log line',
  );
}

/** The message itself, before any usage text (which names every option). */
function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '') ?? '';
}

function wsUrlOf(httpUrl: string): string {
  const url = new URL(httpUrl);
  return `ws://${url.host}/ws`;
}

/** Signals a running CLI that has one seated client and checks the graceful shutdown. */
async function checkGracefulShutdown(signal: 'SIGTERM' | 'SIGINT'): Promise<void> {
  const cli = startCli(['--port', '0', '--log-level', 'info']);
  const clients: TestClient[] = [];
  try {
    const url = await listeningUrl(cli);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(url).port, '0', '--port 0 resolves to the real port in the start line');

    const seated = await TestClient.connect(wsUrlOf(url));
    clients.push(seated);
    await seated.join('shutdown-room');
    const idle = await TestClient.connect(wsUrlOf(url));
    clients.push(idle);
    await idle.expectQuiet();

    const sentAt = Date.now();
    cli.child.kill(signal);

    const error = await seated.nextError('server-shutdown');
    assert.equal(error.type, 'error');
    assert.equal((await withTimeout(seated.closed, 5000, 'seated socket not closed')).code, 1001);
    await idle.nextError('server-shutdown');
    assert.equal((await withTimeout(idle.closed, 5000, 'idle socket not closed')).code, 1001);

    const exit = await withTimeout(cli.exited, 5000 - (Date.now() - sentAt), `cli did not exit after ${signal}`);
    assert.deepEqual(exit, { code: 0, signal: null }, `stderr:\n${cli.output.stderr}`);
    assert.ok(Date.now() - sentAt < 5000, 'exit within 5 s');
  } finally {
    for (const client of clients) client.drop();
    killLeftovers();
  }
}

describe('CLI: starts, logs its URL and shuts down gracefully', () => {
  before(() => ensureBuilt());
  after(killLeftovers);

  test('SIGTERM: clients get server-shutdown then close 1001; the process exits 0 within 5 s', () =>
    checkGracefulShutdown('SIGTERM'));

  test('SIGINT: clients get server-shutdown then close 1001; the process exits 0 within 5 s', () =>
    checkGracefulShutdown('SIGINT'));

  test('the start line is a JSON log line with msg "listening" and the URL', async () => {
    const cli = startCli(['--port', '0', '--log-level', 'info']);
    try {
      const url = await listeningUrl(cli);
      const lines = logLines(cli.output.stdout).filter((entry) => entry['msg'] === 'listening');
      assert.equal(lines.length, 1, 'one start line');
      assert.equal(lines[0]?.['url'], url);
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      await health.text();
      cli.child.kill('SIGTERM');
      assert.deepEqual(await withTimeout(cli.exited, 5000, 'cli did not exit'), { code: 0, signal: null });
    } finally {
      killLeftovers();
    }
  });
});

describe('CLI: a bad option is reported on stderr with exit code 2', () => {
  before(() => ensureBuilt());
  after(killLeftovers);

  test('--port abc exits 2 with a message naming port', async () => {
    const cli = startCli(['--port', 'abc']);
    const exit = await withTimeout(cli.exited, 10_000, 'cli did not exit');
    assert.deepEqual(exit, { code: 2, signal: null });
    assert.match(firstLine(cli.output.stderr), /port/);
  });

  test('--port 70000 exits 2 with a message naming port', async () => {
    const cli = startCli(['--port', '70000']);
    const exit = await withTimeout(cli.exited, 10_000, 'cli did not exit');
    assert.deepEqual(exit, { code: 2, signal: null });
    assert.match(firstLine(cli.output.stderr), /port/);
  });

  test('an unknown flag exits 2 with a message naming it', async () => {
    const cli = startCli(['--no-such-option', '1']);
    const exit = await withTimeout(cli.exited, 10_000, 'cli did not exit');
    assert.deepEqual(exit, { code: 2, signal: null });
    assert.match(firstLine(cli.output.stderr), /no-such-option/);
  });
});

describe('CLI: logs never contain tokens, signal data or credentials', () => {
  before(() => ensureBuilt());
  after(killLeftovers);

  test('a session with token joins, a refused token and signals leaves none of them in the logs', async () => {
    const tokenSecret = 'tokensecret-LOGCHECK-5a7e1c9d';
    const turnSecret = 'turnsecret-LOGCHECK-0b3f8e2a';
    const marker = 'MARKER-signal-payload-c0ffee-77';
    const cli = startCli([
      '--port', '0',
      '--log-level', 'trace',
      '--token-secret', tokenSecret,
      '--turn-secret', turnSecret,
      '--turn-urls', 'turn:turn.example.com:3478',
      '--reconnect-grace-ms', '200',
    ]);
    const clients: TestClient[] = [];
    const key = new TextEncoder().encode(tokenSecret);
    const mint = (room: string, secret = key) =>
      new SignJWT({ room }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(secret);
    try {
      const url = await listeningUrl(cli);
      const tokenA = await mint('log-room');
      const tokenB = await mint('*');
      const badToken = await mint('log-room', new TextEncoder().encode('a-wrong-secret-of-32-characters!'));

      const a = await TestClient.connect(wsUrlOf(url));
      clients.push(a);
      const b = await TestClient.connect(wsUrlOf(url));
      clients.push(b);
      const c = await TestClient.connect(wsUrlOf(url));
      clients.push(c);

      const joinedA = await a.join('log-room', { token: tokenA });
      const joinedB = await b.join('log-room', { token: tokenB });
      await a.next('peer-joined');
      c.send({ type: 'join', room: 'log-room', token: badToken });
      await c.nextError('unauthorized');

      a.send({ type: 'signal', data: { kind: 'offer', sdp: `v=0 ${marker} a` } });
      assert.equal((await b.next('signal')).data['sdp'], `v=0 ${marker} a`);
      b.send({ type: 'signal', data: { kind: 'answer', sdp: `v=0 ${marker} b`, nested: { marker } } });
      assert.equal((await a.next('signal')).data['sdp'], `v=0 ${marker} b`);
      // Invalid frames are logged at most as a reason, never with their contents.
      a.sendRaw(`not json ${marker}`);
      await a.nextError('invalid-message');
      a.send({ type: 'leave' });
      await b.next('peer-left');

      const turnEntry = joinedA.iceServers.find((server) => server.credential !== undefined);
      assert.ok(turnEntry?.credential !== undefined, 'joined carries TURN credentials');

      cli.child.kill('SIGTERM');
      assert.deepEqual(await withTimeout(cli.exited, 5000, 'cli did not exit'), { code: 0, signal: null });

      const logs = cli.output.stdout + cli.output.stderr;
      assert.ok(logLines(cli.output.stdout).length > 1, 'the session was logged');
      const secrets: [string, string][] = [
        ['token of peer A', tokenA],
        ['token of peer B', tokenB],
        ['refused token', badToken],
        ['token secret', tokenSecret],
        ['TURN secret', turnSecret],
        ['TURN credential of peer A', turnEntry.credential],
        ['resume value of peer A', joinedA.resume],
        ['resume value of peer B', joinedB.resume],
        ['signal payload', marker],
      ];
      for (const [what, value] of secrets) {
        assert.ok(!logs.includes(value), `the logs contain the ${what}`);
      }
    } finally {
      for (const client of clients) client.drop();
      killLeftovers();
    }
  });
});
