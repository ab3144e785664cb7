/**
 * The operator's side of `p2p-call-server`: `--help` (every option, its variable and its
 * default), `--version`, secrets read from files (`--token-secret-file`, `*_FILE`) so they
 * stay out of `ps`, `node:util` parseArgs's strictness, and the start-up lines that say where
 * it listens, the URL to open, and whether join tokens and TURN are on.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, test, type TestContext } from 'node:test';
import { ConfigError, DEFAULTS, OPTION_SPELLINGS, environmentVariables, readCommandLine } from '../../server/config.js';
import { packageVersion } from '../../server/package-root.js';
import { withTimeout } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/server/cli.js');
const SECRET = 'a-secret-of-more-than-16-chars';

async function secretFile(t: TestContext, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-call-secret-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'secret');
  await writeFile(file, content, { mode: 0o600 });
  return file;
}

function throwsConfig(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof ConfigError && pattern.test(error.message));
}

/** Runs the built CLI to completion (for --help, --version and refusals). */
function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000, env: { PATH: process.env['PATH'], ...env } });
}

before(() => {
  const result = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  assert.equal(result.status, 0, `build failed:\n${result.stdout}\n${result.stderr}`);
});

describe('--help and --version', () => {
  test('--help (and -h) lists every flag with its meaning, its variable and its default; exit 0', () => {
    const long = run(['--help']);
    assert.equal(long.status, 0);
    assert.equal(run(['-h']).stdout, long.stdout);
    const help = long.stdout;
    for (const spelling of OPTION_SPELLINGS) {
      const at = help.indexOf(`\n  --${spelling.flag}${spelling.kind === 'boolean' ? '[' : ' '}`);
      assert.ok(at >= 0, `--${spelling.flag} listed`);
      const block = help.slice(at, help.indexOf('\n  -', at + 1));
      assert.ok(block.includes(spelling.description), `--${spelling.flag}: meaning`);
      for (const name of spelling.env) assert.match(block, new RegExp(`env ${name}\\b`), `--${spelling.flag}: ${name}`);
      const value = (DEFAULTS as Record<string, unknown>)[spelling.key];
      if (typeof value === 'number' || typeof value === 'string') assert.match(block, new RegExp(`default: ${value}$`), `--${spelling.flag}: default ${value}`);
      else assert.match(block, /default: \S/, `--${spelling.flag}: some default shown`);
      if (spelling.secret) assert.match(help, new RegExp(`--${spelling.flag}-file <file>[^]*?env ${spelling.env[0]}_FILE`), `--${spelling.flag}-file`);
    }
    // Spot checks written out, so a wrong table cannot pass by agreeing with itself.
    assert.match(help, /--port <n>\s+HTTP \+ WebSocket port[^\n]*\n\s+env PORT · default: 8080\n/);
    assert.match(help, /--ping-interval-ms <n>[^\n]*\n\s+env P2P_PING_INTERVAL_MS · default: 15000\n/);
    assert.match(help, /--token-secret <value>[^\n]*\n\s+env P2P_TOKEN_SECRET · default: none \(open rooms\)\n/);
    assert.match(help, /--trust-proxy\[=<bool>\][^\n]*\n\s+env P2P_TRUST_PROXY · default: off\n/);
    assert.match(help, /-v, --version/);
  });

  test('--version (and -v) prints the package version and exits 0', () => {
    for (const flag of ['--version', '-v']) {
      const result = run([flag]);
      assert.equal(result.status, 0);
      assert.equal(result.stdout, `${packageVersion(ROOT)}\n`);
    }
  });

  test('a mistake exits 2 and points at --help', () => {
    const result = run(['--prot', '9000']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^p2p-call-server: unknown option --prot \(see --help\)\n/);
  });
});

describe('parsing with node:util parseArgs', () => {
  test('--flag value, --flag=value, switches with and without a value', () => {
    assert.deepEqual(readCommandLine(['--port', '9000', '--host=0.0.0.0', '--trust-proxy'], {}).options, { port: 9000, host: '0.0.0.0', trustProxy: true });
    assert.deepEqual(readCommandLine(['--trust-proxy=off'], {}).options, { trustProxy: false });
  });
  test('a flag followed by another flag instead of its value is refused', () =>
    throwsConfig(() => readCommandLine(['--port', '--host', 'x'], {}), /--port/));
  test('a repeated flag: the last one wins, as parseArgs does', () =>
    assert.deepEqual(readCommandLine(['--port', '1', '--port', '2'], {}).options, { port: 2 }));
  test('help and version are reported, not options', () => {
    assert.deepEqual(readCommandLine(['--help'], {}), { help: true, version: false, options: {} });
    assert.deepEqual(readCommandLine(['-v'], {}), { help: false, version: true, options: {} });
  });
});

describe('secrets from files: --<secret>-file and <VAR>_FILE', () => {
  for (const spelling of OPTION_SPELLINGS.filter((s) => s.secret)) {
    const env = spelling.env[0] as string;
    test(`--${spelling.flag}-file and ${env}_FILE read the file, without its trailing newline`, async (t) => {
      const file = await secretFile(t, `${SECRET}\n`);
      assert.deepEqual(readCommandLine([`--${spelling.flag}-file`, file], {}).options, { [spelling.key]: SECRET });
      assert.deepEqual(readCommandLine([], { [`${env}_FILE`]: file }).options, { [spelling.key]: SECRET });
    });
    test(`${spelling.flag}: a flag (direct or file) wins over the variables; both forms at one level is an error`, async (t) => {
      const file = await secretFile(t, SECRET);
      assert.deepEqual(readCommandLine([`--${spelling.flag}-file`, file], { [env]: 'from-the-environment-123' }).options, { [spelling.key]: SECRET });
      assert.deepEqual(readCommandLine([`--${spelling.flag}`, 'from-the-flag-12345'], { [`${env}_FILE`]: file }).options, { [spelling.key]: 'from-the-flag-12345' });
      throwsConfig(() => readCommandLine([`--${spelling.flag}`, SECRET, `--${spelling.flag}-file`, file], {}), new RegExp(`--${spelling.flag} and --${spelling.flag}-file`));
      throwsConfig(() => readCommandLine([], { [env]: SECRET, [`${env}_FILE`]: file }), new RegExp(`${env} and ${env}_FILE`));
    });
  }
  test('a missing file is a ConfigError naming it', () =>
    throwsConfig(() => readCommandLine(['--token-secret-file', '/nonexistent/secret'], {}), /\/nonexistent\/secret.*ENOENT/));
  test('only secrets have file variants', () => {
    throwsConfig(() => readCommandLine(['--port-file', '/tmp/x'], {}), /--port-file/);
    assert.deepEqual(environmentVariables().filter((name) => name.endsWith('_FILE')).sort(), [
      'P2P_METRICS_TOKEN_FILE', 'P2P_REDIS_URL_FILE', 'P2P_TOKEN_SECRET_FILE', 'P2P_TURN_SECRET_FILE',
    ]);
  });
});

describe('the start-up lines', () => {
  /** Starts the CLI, waits for the human start line on stderr, stops it; returns what it wrote. */
  async function startAndStop(args: string[], env: NodeJS.ProcessEnv = {}) {
    const child = spawn(process.execPath, [CLI, '--port', '0', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'], ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await withTimeout(new Promise<void>((resolve, reject) => {
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
          if (/TURN: .*\n/.test(stderr)) resolve();
        });
        void exited.then((code) => reject(new Error(`exited ${code}:\n${stdout}\n${stderr}`)));
      }), 15_000, 'no start line');
      child.kill('SIGTERM');
      assert.equal(await withTimeout(exited, 5_000, 'no exit after SIGTERM'), 0);
    } finally {
      child.kill('SIGKILL');
    }
    const logs = stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
    return { stdout, stderr, logs };
  }

  test('open rooms, no TURN: the URL to open and both off, plainly on stderr and as a JSON "ready" line', async () => {
    const { stderr, logs } = await startAndStop([]);
    const url = /^p2p-call \S+: open (http:\/\/127\.0\.0\.1:(\d+)\/)\n/.exec(stderr);
    assert.ok(url, stderr);
    assert.notEqual(url[2], '0');
    assert.match(stderr, /join tokens: off \(open rooms\) · TURN: off\n/);
    const ready = logs.find((line) => line['msg'] === 'ready');
    assert.equal(ready?.['open'], url[1]);
    assert.equal(ready?.['joinTokens'], false);
    assert.equal(ready?.['turn'], false);
    const listening = logs.find((line) => line['msg'] === 'listening');
    assert.equal(`${String(listening?.['url'])}/`, url[1], 'where it listens');
  });

  test('secrets from *_FILE: join tokens and TURN on, the secrets appear nowhere in the output', async (t) => {
    const token = await secretFile(t, `${SECRET}-token\n`);
    const turn = await secretFile(t, `${SECRET}-turn\n`);
    const { stdout, stderr, logs } = await startAndStop(['--turn-urls', 'turn:turn.example.com:3478'], { P2P_TOKEN_SECRET_FILE: token, P2P_TURN_SECRET_FILE: turn });
    assert.match(stderr, /join tokens: required · TURN: on \(1 URLs\)\n/);
    const ready = logs.find((line) => line['msg'] === 'ready');
    assert.equal(ready?.['joinTokens'], true);
    assert.equal(ready?.['turn'], true);
    assert.ok(!`${stdout}${stderr}`.includes(SECRET), 'no secret in the output');
  });

  test('bound to every interface (0.0.0.0): the URL to open is the loopback one', async () => {
    const { stderr } = await startAndStop(['--host', '0.0.0.0']);
    assert.match(stderr, /open http:\/\/127\.0\.0\.1:\d+\//);
  });
});
