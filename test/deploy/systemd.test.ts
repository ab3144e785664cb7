/**
 * deploy/p2p-call.service, deploy/p2p-call.env and deploy/certbot-deploy-hook.sh: the unit
 * through `systemd-analyze verify` and `security` (with and without the TLS drop-in of
 * docs/deploy.md), its required keys, a trace of the server's system calls held against the
 * unit's sandbox (syscall filter, address families, read-only file system, W+X memory), the env
 * file read by the server's own option parser, and the deploy hook run with a stand-in
 * systemctl.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { ConfigError, OPTION_SPELLINGS, optionsFromCommandLine, resolveOptions } from '../../server/config.js';
import { SignalingClient } from '../../sdk/index.js';
import {
  DEPLOY_DIR, ROOT, Workspace, deployFile, deriveEnv, get, makeCertificate, parseEnvFile, startProcess, turnOption,
} from './helpers.js';

const workspaces: Workspace[] = [];
after(() => {
  for (const ws of workspaces) ws.remove();
});
function workspace(name: string): Workspace {
  const ws = new Workspace(name);
  workspaces.push(ws);
  return ws;
}

const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const isRoot = process.getuid?.() === 0;

/** `Key=value` lines of a unit file, in order (a key may repeat). */
function unitEntries(unit: string): Array<[string, string]> {
  return unit.split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith(';') && !line.startsWith('['))
    .map((line) => {
      const eq = line.indexOf('=');
      return [line.slice(0, eq), line.slice(eq + 1)] as [string, string];
    });
}

/** A copy of the unit (plus optional drop-ins) in a temp dir, ready for systemd-analyze. */
function unitDir(dropIns: Record<string, string> = {}): string {
  const ws = workspace('unit');
  let unit = deployFile('p2p-call.service');
  // verify checks that ExecStart's binary exists; keep the shipped path where it does.
  if (!existsSync('/usr/bin/node')) unit = unit.replaceAll('/usr/bin/node', process.execPath);
  const file = ws.write('p2p-call.service', unit);
  if (Object.keys(dropIns).length > 0) {
    mkdirSync(ws.path('p2p-call.service.d'));
    for (const [name, text] of Object.entries(dropIns)) ws.write(join('p2p-call.service.d', name), text);
  }
  return file;
}

/** The TLS drop-in given in docs/deploy.md ("Without nginx"). */
function docsDropIn(): string {
  const docs = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
  const block = /```ini\n(# \/etc\/systemd\/system\/p2p-call\.service\.d\/tls\.conf\n[\s\S]*?)```/.exec(docs)?.[1];
  assert.ok(block, 'docs/deploy.md has the tls.conf drop-in block');
  return block;
}

function exposure(unitFile: string): number {
  const result = spawnSync('systemd-analyze', ['security', '--offline=true', unitFile], { encoding: 'utf8', cwd: join(unitFile, '..') });
  const match = /Overall exposure level for p2p-call\.service: ([\d.]+)/.exec(`${result.stdout}${result.stderr}`);
  assert.ok(match, `systemd-analyze security output:\n${result.stdout}${result.stderr}`);
  return Number(match[1]);
}

describe('deploy/p2p-call.service', () => {
  test('has the keys the deployment relies on', () => {
    const entries = unitEntries(deployFile('p2p-call.service'));
    const values = (key: string) => entries.filter(([k]) => k === key).map(([, v]) => v);
    const expected: Record<string, string> = {
      User: 'p2p-call',
      ExecStart: '/usr/bin/node /opt/p2p-call/dist/server/cli.js',
      EnvironmentFile: '/etc/p2p-call/env',
      Restart: 'on-failure',
      KillSignal: 'SIGTERM',
      TimeoutStopSec: '10',
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      ProtectKernelTunables: 'yes',
      ProtectKernelModules: 'yes',
      ProtectKernelLogs: 'yes',
      ProtectControlGroups: 'yes',
      RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
      RestrictNamespaces: 'yes',
      LockPersonality: 'yes',
      MemoryDenyWriteExecute: 'no',
      CapabilityBoundingSet: '',
    };
    for (const [key, value] of Object.entries(expected)) assert.deepEqual(values(key), [value], key);
    assert.deepEqual(values('SystemCallFilter'), ['@system-service @pkey', '~@privileged']);
    assert.match(deployFile('p2p-call.service'), /#[^\n]*JIT[^\n]*\n(#[^\n]*\n)*MemoryDenyWriteExecute=no/, 'a comment says why W+X stays allowed');
  });

  test('systemd-analyze verify accepts it, also with the TLS drop-in of docs/deploy.md', (t) => {
    if (!has('systemd-analyze')) return t.skip('systemd-analyze is not installed');
    for (const file of [unitDir(), unitDir({ 'tls.conf': docsDropIn() })]) {
      const result = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', cwd: join(file, '..') });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr.trim(), '', 'no warnings');
    }
  });

  test('systemd-analyze security rates the sandbox "OK" (exposure at most 2.0)', (t) => {
    if (!has('systemd-analyze')) return t.skip('systemd-analyze is not installed');
    const plain = exposure(unitDir());
    assert.ok(plain <= 2.0, `exposure ${plain}`);
    const withTls = exposure(unitDir({ 'tls.conf': docsDropIn() }));
    assert.ok(withTls <= 2.5, `exposure with the TLS drop-in ${withTls}`);
  });

  test("the server's system calls during a session fit the unit's sandbox", async (t) => {
    if (!has('strace') || !has('systemd-analyze') || !has('pgrep')) return t.skip('needs strace, systemd-analyze and pgrep');
    const ws = workspace('strace');
    const trace = ws.path('trace');
    const env = deriveEnv(deployFile('p2p-call.env'), { PORT: '0', P2P_TURN_SECRET: 'strace-test-secret-0123456789' });
    const strace = startProcess('strace', ['-f', '-qq', '-o', trace, process.execPath, 'dist/server/cli.js'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    });
    let node: number | undefined;
    const clients: SignalingClient[] = [];
    try {
      const origin = (await strace.waitForOutput(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/, 20_000))[1] as string;
      node = Number(execFileSync('pgrep', ['-P', String(strace.child.pid)], { encoding: 'utf8' }).trim());
      // A session: the page and bundle, two clients meeting in a room and exchanging a signal.
      for (const path of ['/healthz', '/r/strace', '/p2p-call.js', '/demo.css']) assert.equal((await get(`${origin}${path}`)).status, 200, path);
      const url = `${origin.replace('http', 'ws')}/ws`;
      const [a, b] = [0, 1].map(() => new SignalingClient({ url, room: 'strace', WebSocket: WebSocket as never, storage: null })) as [SignalingClient, SignalingClient];
      clients.push(a, b);
      await a.connect();
      await b.connect();
      const received = new Promise<unknown>((resolve) => b.on('signal', ({ data }) => resolve(data)));
      a.send({ hello: 'through the sandbox' });
      assert.deepEqual(await received, { hello: 'through the sandbox' });
      a.leave();
      b.leave();
      // What systemctl stop does: SIGTERM to the service process.
      process.kill(node, 'SIGTERM');
      assert.equal((await strace.exited).code, 0, strace.output());
    } finally {
      for (const client of clients) client.close();
      // strace leaves its tracee running if it is killed itself: end the server first.
      if (strace.running() && node !== undefined) {
        try {
          process.kill(node, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await strace.stop('SIGKILL');
    }

    const lines = readFileSync(trace, 'utf8').split('\n');
    const calls = new Set(lines.map((line) => /^\d+\s+([a-z0-9_]+)\(/.exec(line)?.[1]).filter((name): name is string => name !== undefined));
    assert.ok(calls.size > 20, `traced ${calls.size} distinct system calls`);

    // The unit's SystemCallFilter= lines (allow-list minus ~deny-list), expanded the way systemd does.
    const groups = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const line of execFileSync('systemd-analyze', ['syscall-filter'], { encoding: 'utf8' }).split('\n')) {
      if (line.startsWith('@')) groups.set(line.trim(), (current = []));
      else if (current && line.trim() !== '' && !line.trim().startsWith('#')) current.push(line.trim());
    }
    const expand = (name: string, seen = new Set<string>()): Set<string> => {
      if (!name.startsWith('@')) return new Set([name]);
      if (seen.has(name)) return new Set();
      seen.add(name);
      return new Set((groups.get(name) ?? []).flatMap((member) => [...expand(member, seen)]));
    };
    const filters = unitEntries(deployFile('p2p-call.service')).filter(([key]) => key === 'SystemCallFilter').map(([, value]) => value);
    const allowList = filters.filter((f) => !f.startsWith('~')).flatMap((f) => f.split(/\s+/));
    const denyList = filters.filter((f) => f.startsWith('~')).flatMap((f) => f.slice(1).split(/\s+/));
    const denied = new Set(denyList.flatMap((name) => [...expand(name)]));
    const allowed = new Set(allowList.flatMap((name) => [...expand(name)]).filter((name) => !denied.has(name)));
    assert.deepEqual([...calls].filter((name) => !allowed.has(name)).sort(), [], 'system calls outside SystemCallFilter');

    const families = new Set(lines.flatMap((line) => /\bsocket\((AF_[A-Z0-9]+)/.exec(line)?.[1] ?? []));
    assert.deepEqual([...families].filter((f) => !['AF_INET', 'AF_INET6', 'AF_UNIX'].includes(f)), [], 'RestrictAddressFamilies');

    // ProtectSystem=strict: nothing opened for writing outside /dev, /proc, /sys and the private /tmp.
    const writes = lines
      .filter((line) => /\bopenat\(/.test(line) && /O_(WRONLY|RDWR|CREAT)/.test(line) && !/= -1 /.test(line))
      .map((line) => /"([^"]+)"/.exec(line)?.[1] ?? line)
      .filter((path) => !/^\/(dev|proc|sys|tmp)\//.test(path));
    assert.deepEqual(writes, [], 'files opened for writing');

    // Why MemoryDenyWriteExecute=no: V8's JIT makes pages writable and executable at once.
    assert.ok(lines.some((line) => /\b(mprotect|pkey_mprotect|mmap)\(.*PROT_WRITE\|PROT_EXEC.*= 0x|\b(mprotect|pkey_mprotect)\(.*PROT_WRITE\|PROT_EXEC.*= 0$/.test(line)), 'node maps W+X memory');
  });
});

describe('deploy/p2p-call.env', () => {
  const text = deployFile('p2p-call.env');
  const vars = parseEnvFile(text);
  const known = new Set(OPTION_SPELLINGS.flatMap((s) => s.env));

  test('names only variables the server reads, commented examples included', () => {
    const commented = [...text.matchAll(/^#([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] as string);
    for (const name of [...vars.keys(), ...commented]) assert.ok(known.has(name), `${name} is an option of the server (docs/server.md)`);
    assert.deepEqual(commented.sort(), ['P2P_ALLOWED_ORIGINS', 'P2P_TOKEN_SECRET']);
  });

  test('with the placeholder secret the server refuses to start; with a real one it resolves as documented', () => {
    assert.throws(() => resolveOptions(optionsFromCommandLine([], Object.fromEntries(vars))), (error: unknown) =>
      error instanceof ConfigError && /turnSecret/.test(error.message));
    const options = resolveOptions(optionsFromCommandLine([], { ...Object.fromEntries(vars), P2P_TURN_SECRET: 'a'.repeat(64) }));
    assert.equal(options.host, '127.0.0.1');
    assert.equal(options.port, 8080);
    assert.equal(options.trustProxy, true);
    assert.deepEqual(options.turnUrls, [
      'turn:turn.example.com:3478?transport=udp',
      'turn:turn.example.com:3478?transport=tcp',
      'turns:turn.example.com:5349?transport=tcp',
    ]);
    assert.deepEqual(options.stunUrls, ['stun:turn.example.com:3478']);
  });

  test('agrees with turnserver.conf and the unit: ports, host name, placeholder, documented flags', () => {
    const turn = deployFile('turnserver.conf');
    const realm = turnOption(turn, 'realm');
    for (const url of [...(vars.get('P2P_TURN_URLS') ?? '').split(','), vars.get('P2P_STUN_URLS') ?? '']) {
      const match = /^(turns?|stun):([^:?]+):(\d+)/.exec(url);
      assert.ok(match, url);
      assert.equal(match[2], realm, `${url} names the TURN host`);
      const port = match[1] === 'turns' ? turnOption(turn, 'tls-listening-port') : turnOption(turn, 'listening-port');
      assert.equal(match[3], port, `${url} uses coturn's port`);
    }
    assert.equal(vars.get('P2P_TURN_SECRET'), turnOption(turn, 'static-auth-secret'), 'the same placeholder in both files');
    assert.ok(turn.includes(`--turn-urls ${vars.get('P2P_TURN_URLS')}`), 'turnserver.conf documents the same --turn-urls');
    assert.ok(turn.includes(`--stun-urls ${vars.get('P2P_STUN_URLS')}`), 'turnserver.conf documents the same --stun-urls');
    assert.match(deployFile('p2p-call.service'), /^EnvironmentFile=\/etc\/p2p-call\/env$/m);
  });
});

describe('deploy/certbot-deploy-hook.sh', () => {
  let ws: Workspace;
  let lineage: string;

  before(() => {
    ws = workspace('hook');
    const cert = makeCertificate(ws);
    lineage = ws.path('live');
    mkdirSync(lineage);
    writeFileSync(join(lineage, 'fullchain.pem'), readFileSync(cert.cert));
    writeFileSync(join(lineage, 'privkey.pem'), readFileSync(cert.key), { mode: 0o600 });
  });

  /** Runs the hook with a stand-in systemctl that records its arguments and answers `is-active` per unit. */
  function runHook(domains: string, certDir: string, active: { coturn: boolean; nginx: boolean }): string[] {
    const bin = ws.path(`bin-${Math.random().toString(36).slice(2)}`);
    mkdirSync(bin);
    const log = join(bin, 'calls');
    writeFileSync(join(bin, 'systemctl'), [
      '#!/bin/sh',
      `echo "$*" >> '${log}'`,
      `[ "$*" = "is-active --quiet coturn" ] && exit ${active.coturn ? 0 : 3}`,
      `[ "$*" = "is-active --quiet nginx" ] && exit ${active.nginx ? 0 : 3}`,
      'exit 0',
      '',
    ].join('\n'), { mode: 0o755 });
    const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
    execFileSync('sh', [join(DEPLOY_DIR, 'certbot-deploy-hook.sh')], {
      env: {
        PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
        RENEWED_LINEAGE: lineage,
        RENEWED_DOMAINS: domains,
        COTURN_CERT_DIR: certDir,
        COTURN_GROUP: group,
      },
      stdio: 'pipe',
    });
    return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  }

  test('for the TURN name: copies the pair readable by coturn only, signals coturn, reloads nginx', (t) => {
    if (!isRoot) return t.skip('the hook installs files owned by root');
    const certDir = ws.path('coturn-certs');
    const calls = runHook('calls.example.com turn.example.com', certDir, { coturn: true, nginx: true });
    assert.deepEqual(calls, ['is-active --quiet coturn', 'kill --signal=SIGUSR2 coturn', 'is-active --quiet nginx', 'reload nginx']);
    assert.equal(readFileSync(join(certDir, 'fullchain.pem'), 'utf8'), readFileSync(join(lineage, 'fullchain.pem'), 'utf8'));
    assert.equal(readFileSync(join(certDir, 'privkey.pem'), 'utf8'), readFileSync(join(lineage, 'privkey.pem'), 'utf8'));
    assert.equal(statSync(certDir).mode & 0o777, 0o750);
    assert.equal(statSync(join(certDir, 'fullchain.pem')).mode & 0o777, 0o644);
    assert.equal(statSync(join(certDir, 'privkey.pem')).mode & 0o777, 0o640);
  });

  test('coturn stopped: no signal; no nginx (the setup without it): no reload; another certificate: nothing copied', (t) => {
    if (!isRoot) return t.skip('the hook installs files owned by root');
    assert.deepEqual(runHook('turn.example.com', ws.path('stopped'), { coturn: false, nginx: true }), ['is-active --quiet coturn', 'is-active --quiet nginx', 'reload nginx']);
    assert.deepEqual(runHook('turn.example.com', ws.path('no-nginx'), { coturn: true, nginx: false }), ['is-active --quiet coturn', 'kill --signal=SIGUSR2 coturn', 'is-active --quiet nginx']);
    const untouched = ws.path('untouched');
    assert.deepEqual(runHook('www.example.org', untouched, { coturn: true, nginx: true }), ['is-active --quiet nginx', 'reload nginx']);
    assert.equal(existsSync(untouched), false);
  });

  test('refuses to run without RENEWED_LINEAGE (i.e. outside certbot)', () => {
    const result = spawnSync('sh', [join(DEPLOY_DIR, 'certbot-deploy-hook.sh')], { env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /RENEWED_LINEAGE/);
  });
});
