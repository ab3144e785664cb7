/**
 * Calls across real NATs: two Chromiums, each in its own network namespace behind its own
 * masquerading router, reach a signaling server and coturn on a "public" segment (see lab.ts).
 *
 * - cone ↔ cone, STUN only: connects over server-reflexive (or peer-reflexive) candidates;
 * - symmetric ↔ symmetric with TURN: connects through the relay;
 * - symmetric ↔ symmetric, STUN only: no path, `ice-failed` once `ice-timeout` runs out.
 *
 * Root only (namespaces, iptables); otherwise every test is skipped with the reason.
 */
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { CHROMIUM, ROOT, launchChromium } from '../e2e/browser.js';
import { remoteFramesAdvance } from '../e2e/page-helpers.js';
import { ADDRESSES, PRIVATE_RANGES, commandPath, createNatLab, labNamespaces, labSkipReason, labTempDir, removeStaleLabs, type NatLab, type Role } from './lab.js';
import type { PubConfig, PubReady } from './pub-services.js';

const skip = labSkipReason(CHROMIUM);

/** `ice-timeout` of the page where no path exists; the error must come within this plus a bound. */
const ICE_TIMEOUT_MS = 8_000;
const ERROR_BOUND_MS = 4_000;
const RUN_ID = `${process.pid}-${randomBytes(3).toString('hex')}`;

/** A child process whose output lines are kept, for readiness and for what the servers saw. */
interface Service {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first line (past or future) matching `pattern`; rejects on exit or timeout. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
}

function service(child: ChildProcess, name: string): Service {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let exited: string | undefined;
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      waiters.forEach((wake) => wake());
    });
  }
  child.on('exit', (code, signal) => {
    exited = `${name} exited (${signal ?? code}) before it was ready`;
    waiters.forEach((wake) => wake());
  });
  child.on('error', (error) => {
    exited = `${name} could not start: ${error.message}`;
    waiters.forEach((wake) => wake());
  });
  return {
    child,
    lines,
    waitForLine: (pattern, timeoutMs) => new Promise((resolve, reject) => {
      const check = () => {
        const line = lines.find((candidate) => pattern.test(candidate));
        if (line !== undefined || exited !== undefined) {
          waiters.delete(check);
          clearTimeout(timer);
          if (line !== undefined) resolve(line);
          else reject(new Error(`${exited}\n${lines.slice(-20).join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms\n${lines.slice(-20).join('\n')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    }),
  };
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
async function stop(child: ChildProcess | undefined, graceMs = 3_000): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Closes a browser and removes its profile once the process has really exited (launchChromium
 * removes it on `disconnected`, which can come while Chromium still writes there).
 */
async function closeBrowser(browser: Browser): Promise<void> {
  const child = browser.process();
  const profile = child?.spawnargs.find((arg) => arg.startsWith('--user-data-dir='))?.slice('--user-data-dir='.length);
  await browser.close().catch(() => undefined);
  if (child !== null && child !== undefined) await stop(child);
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
}

/** JSON log lines of the signaling servers (pino), skipping anything else. */
function logEntries(lines: readonly string[]): Array<Record<string, unknown>> {
  return lines.flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Pages

interface Recorded {
  type: string;
  detail: Record<string, unknown>;
  at: number;
}

/** Opens `url` with a recorder of the element's events installed before any page script. */
async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.evaluateOnNewDocument(() => {
    const recorded: Array<{ type: string; detail: unknown; at: number }> = [];
    (window as unknown as { recorded: typeof recorded }).recorded = recorded;
    for (const type of ['p2p-state-change', 'p2p-error', 'p2p-stats', 'p2p-peer-leave']) {
      document.addEventListener(type, (event) => recorded.push({ type, detail: (event as CustomEvent).detail, at: performance.now() }));
    }
  });
  await page.goto(url);
  return page;
}

/**
 * Resolves with the first event of one of `types` (already recorded or still to come) for which
 * the page-side expression `filter` (over `type` and `detail`) is true. Page source text: the
 * test's TypeScript transform wraps named functions in a helper the page does not have.
 */
function waitForEvent(page: Page, types: string[], filter: string, timeoutMs: number): Promise<Recorded> {
  return page.evaluate(`new Promise((resolve, reject) => {
    const types = ${JSON.stringify(types)};
    const match = (type, detail) => types.includes(type) && (${filter});
    const seen = window.recorded.find((entry) => match(entry.type, entry.detail));
    if (seen) return resolve(seen);
    const timer = setTimeout(() => {
      const el = document.querySelector('p2p-call');
      reject(new Error(types + ' matching ' + ${JSON.stringify(filter)} + ' did not come within ${timeoutMs} ms; state ' + el.state
        + '; events ' + JSON.stringify(window.recorded.filter((entry) => entry.type !== 'p2p-stats'))));
    }, ${timeoutMs});
    for (const type of types) {
      document.addEventListener(type, (event) => {
        if (!match(type, event.detail)) return;
        clearTimeout(timer);
        resolve(window.recorded.findLast((entry) => entry.type === type && entry.detail === event.detail));
      });
    }
  })`) as Promise<Recorded>;
}

const waitForState = (page: Page, state: string, timeoutMs = 15_000) =>
  waitForEvent(page, ['p2p-state-change'], `detail.state === ${JSON.stringify(state)}`, timeoutMs);

const recorded = (page: Page) => page.evaluate(() => (window as unknown as { recorded: Recorded[] }).recorded);

/** Hangs up (closing the RTCPeerConnection, so no TURN allocation lingers) and closes the page. */
async function hangupAndClose(page: Page | undefined): Promise<void> {
  if (page === undefined || page.isClosed()) return;
  await page.evaluate(() => (document.querySelector('p2p-call') as HTMLElement & { hangup(): void } | null)?.hangup()).catch(() => undefined);
  await page.close().catch(() => undefined);
}

/** The host page: the script tag from the server the page comes from, and the element. */
function hostPage(room: string, iceTimeoutMs: number): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>NAT lab</title>
    <script type="module" src="/p2p-call.js"></script></head>
    <body><p2p-call room="${room}" autojoin ice-timeout="${iceTimeoutMs}" display-name="NAT lab"></p2p-call></body></html>`;
}

// ---------------------------------------------------------------------------------------------

describe('calls across NATs (network namespaces)', { skip: skip ?? false }, () => {
  let lab: NatLab | undefined;
  let workDir: string | undefined;
  let coturn: Service | undefined;
  let pub: Service | undefined;
  let ready: PubReady;
  const browsers: Partial<Record<'a' | 'b', Browser>> = {};
  const pages: Page[] = [];
  /** Synchronous last resort when the process ends without running `after` (crash, Ctrl-C). */
  const onExit = () => {
    lab?.destroy();
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    onExit();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  async function cleanup(): Promise<void> {
    await Promise.all(pages.splice(0).map(hangupAndClose));
    await Promise.all(Object.values(browsers).map(closeBrowser));
    await Promise.all([stop(pub?.child), stop(coturn?.child)]);
    lab?.destroy();
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  before(async () => {
    const stale = removeStaleLabs();
    if (stale.length > 0) process.stderr.write(`# removed namespaces of a crashed run: ${stale.join(', ')}\n`);
    process.on('exit', onExit);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      lab = createNatLab();
      workDir = labTempDir();
      const staticDir = join(workDir, 'static');
      mkdirSync(staticDir);

      // pub is a namespace of this run with nothing else in it: any port there is free.
      const turnPort = randomInt(20_000, 30_000);
      const turnSecret = randomBytes(24).toString('hex');
      coturn = service(lab.spawn('pub', 'turnserver', [
        '-n', '-v', '--simple-log', '--log-file=stdout',
        '-L', ADDRESSES.pub, '--listening-port', String(turnPort),
        '-E', ADDRESSES.pub, '-X', ADDRESSES.pub,
        '--use-auth-secret', `--static-auth-secret=${turnSecret}`, '--realm=nat-lab',
        '--no-tls', '--no-dtls', '--no-cli', '--fingerprint',
        '--min-port', '30000', '--max-port', '30199',
        ...PRIVATE_RANGES.map((range) => `--denied-peer-ip=${range}`),
        '--pidfile', join(workDir, 'turnserver.pid'), '--userdb', join(workDir, 'turndb'),
      ], { stdio: ['ignore', 'pipe', 'pipe'] }), 'coturn');

      const stun = `stun:${ADDRESSES.pub}:${turnPort}`;
      const config: PubConfig = {
        host: ADDRESSES.pub,
        staticDir,
        servers: {
          stun: { stunUrls: [stun] },
          turn: { stunUrls: [stun], turnSecret, turnUrls: [`turn:${ADDRESSES.pub}:${turnPort}`], turnTtl: 600 },
        },
      };
      pub = service(lab.spawn('pub', process.execPath, ['--import', 'tsx', join(ROOT, 'test/nat/pub-services.ts'), JSON.stringify(config)], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      }), 'pub services');

      writeFileSync(join(staticDir, 'cone.html'), hostPage(`nat-cone-${RUN_ID}`, 15_000));
      writeFileSync(join(staticDir, 'relay.html'), hostPage(`nat-relay-${RUN_ID}`, 15_000));
      writeFileSync(join(staticDir, 'nopath.html'), hostPage(`nat-nopath-${RUN_ID}`, ICE_TIMEOUT_MS));

      const [, readyLine] = await Promise.all([
        coturn.waitForLine(/UDP listener opened on/, 10_000),
        pub.waitForLine(/"msg":"nat-lab-ready"/, 15_000),
      ]);
      ready = JSON.parse(readyLine) as PubReady;

      const origins = Object.values(ready.servers).join(',');
      for (const side of ['a', 'b'] as const) {
        const wrapper = join(workDir, `chromium-${side}.sh`);
        writeFileSync(wrapper, `#!/bin/sh\nexec ${commandPath('ip') ?? 'ip'} netns exec ${lab.ns[`client-${side}`]} ${CHROMIUM} "$@"\n`);
        chmodSync(wrapper, 0o755);
        browsers[side] = await launchChromium({
          executablePath: wrapper,
          extraArgs: [`--unsafely-treat-insecure-origin-as-secure=${origins}`],
        });
      }
    } catch (error) {
      await cleanup();
      throw error;
    }
  });

  after(async () => {
    const created = lab !== undefined;
    await cleanup();
    if (created) assert.deepEqual(labNamespaces(process.pid), [], 'every namespace of this run is gone');
  });

  /** Opens the page in client-a, waits until it is seated, then opens it in client-b. */
  async function openPair(origin: string, file: string): Promise<[Page, Page]> {
    const a = await openPage(browsers.a as Browser, `${origin}/${file}`);
    pages.push(a);
    await waitForState(a, 'waiting');
    const b = await openPage(browsers.b as Browser, `${origin}/${file}`);
    pages.push(b);
    return [a, b];
  }

  // Every case leaves with its calls hung up and its pages closed, passed or not.
  afterEach(() => Promise.all(pages.splice(0).map(hangupAndClose)));

  /** The first stats sample with a selected candidate pair. */
  const candidateType = async (page: Page) =>
    (await waitForEvent(page, ['p2p-stats'], "detail.candidateType !== 'unknown'", 10_000)).detail['candidateType'];

  /** `<address>:<port>` that the two UDP echoes in pub see for one socket in `role`. */
  function udpMappings(role: Role): string[] {
    const probe = `const s = require('node:dgram').createSocket('udp4'); const seen = [];
      s.on('message', (m) => { seen.push(String(m)); if (seen.length === 2) { process.stdout.write(JSON.stringify(seen)); process.exit(0); } });
      setTimeout(() => { process.stderr.write('no answer from the UDP echoes'); process.exit(1); }, 3000);
      s.bind(0, () => { for (const port of process.argv.slice(2)) s.send('probe', Number(port), process.argv[1]); });`;
    const seen = JSON.parse(lab!.exec(role, process.execPath, ['-e', probe, ADDRESSES.pub, ...ready.udpEcho.map(String)])) as string[];
    return seen.sort();
  }

  test('the lab is real: the public side sees the routers, never the private addresses', () => {
    const l = lab!;
    const fetchEcho = `fetch(process.argv[1]).then((r) => r.json()).then((b) => process.stdout.write(b.address))`;
    assert.equal(l.exec('client-a', process.execPath, ['-e', fetchEcho, ready.echo]), ADDRESSES.natA);
    assert.equal(l.exec('client-b', process.execPath, ['-e', fetchEcho, ready.echo]), ADDRESSES.natB);
    // The internet has no route into a LAN, and one LAN none into the other.
    assert.throws(() => l.exec('pub', 'ip', ['route', 'get', ADDRESSES.clientA]), /unreachable/i);
    assert.throws(() => l.exec('nat-b', 'ip', ['route', 'get', ADDRESSES.clientA]), /unreachable/i);

    // Cone: one socket keeps one public port towards both destinations; symmetric: one per destination.
    l.setNat('nat-a', 'cone');
    const cone = udpMappings('client-a');
    assert.ok(cone.every((seen) => seen.startsWith(`${ADDRESSES.natA}:`)), cone.join(' '));
    assert.equal(new Set(cone.map((seen) => seen.split(':')[1])).size, 1, `cone NAT: same public port for both, got ${cone.join(' ')}`);
    l.setNat('nat-a', 'symmetric');
    const symmetric = udpMappings('client-a');
    assert.ok(symmetric.every((seen) => seen.startsWith(`${ADDRESSES.natA}:`)), symmetric.join(' '));
    assert.equal(new Set(symmetric.map((seen) => seen.split(':')[1])).size, 2, `symmetric NAT: a port per destination, got ${symmetric.join(' ')}`);
  });

  test('cone ↔ cone with STUN only: connects without a relay', { timeout: 40_000 }, async (t) => {
    lab!.setNat('nat-a', 'cone');
    lab!.setNat('nat-b', 'cone');
    const logMark = pub!.lines.length;
    const [a, b] = await openPair(ready.servers['stun'] as string, 'cone.html');
    await Promise.all([waitForState(a, 'connected'), waitForState(b, 'connected')]);
    const types = await Promise.all([a, b].map(candidateType));
    t.diagnostic(`selected candidate pairs: client-a ${String(types[0])}, client-b ${String(types[1])}`);
    for (const type of types) assert.ok(type === 'srflx' || type === 'prflx', `a reflexive pair, not relay or host: got ${String(type)}`);
    await remoteFramesAdvance(a);
    await remoteFramesAdvance(b);

    // The signaling server saw both browsers by their routers' public addresses.
    const seen = logEntries(pub!.lines.slice(logMark)).filter((entry) => entry['msg'] === 'connection opened').map((entry) => entry['address']);
    assert.deepEqual([...new Set(seen)].sort(), [ADDRESSES.natA, ADDRESSES.natB]);
  });

  test('symmetric ↔ symmetric with TURN: connects through the relay', { timeout: 40_000 }, async (t) => {
    lab!.setNat('nat-a', 'symmetric');
    lab!.setNat('nat-b', 'symmetric');
    const [a, b] = await openPair(ready.servers['turn'] as string, 'relay.html');
    await Promise.all([waitForState(a, 'connected'), waitForState(b, 'connected')]);
    const types = await Promise.all([a, b].map(candidateType));
    t.diagnostic(`selected candidate pairs: client-a ${String(types[0])}, client-b ${String(types[1])}`);
    for (const type of types) assert.equal(type, 'relay');
    await remoteFramesAdvance(a);
    await remoteFramesAdvance(b);
  });

  /*
   * Both sides start their ice-timeout when they start connecting; the first to run out fails
   * with ice-failed and tells the other (a `bye` signal), which fails the same way at once.
   */
  test(`symmetric ↔ symmetric with STUN only: ice-failed after ice-timeout (${ICE_TIMEOUT_MS} ms)`, { timeout: 40_000 }, async (t) => {
    lab!.setNat('nat-a', 'symmetric');
    lab!.setNat('nat-b', 'symmetric');
    const [a, b] = await openPair(ready.servers['stun'] as string, 'nopath.html');
    const ended = "(type === 'p2p-error' && detail.code === 'ice-failed') || (type === 'p2p-state-change' && detail.state === 'waiting' && detail.previous === 'connecting')";
    const outcomes = await Promise.all([a, b].map((page) =>
      waitForEvent(page, ['p2p-error', 'p2p-state-change'], ended, ICE_TIMEOUT_MS + ERROR_BOUND_MS + 5_000)));
    assert.ok(outcomes.every((outcome) => outcome.type === 'p2p-error'), `both sides report ice-failed: ${JSON.stringify(outcomes)}`);

    for (const [index, page] of [a, b].entries()) {
      const events = await recorded(page);
      const states = events.filter((e) => e.type === 'p2p-state-change');
      assert.ok(!states.some((e) => e.detail['state'] === 'connected'), 'never connected');
      const state = () => page.evaluate(() => (document.querySelector('p2p-call') as HTMLElement & { state: string }).state);
      if (outcomes[index]?.type === 'p2p-error') {
        const failed = outcomes[index];
        assert.equal(failed.detail['fatal'], true);
        await waitForState(page, 'error', 2_000);
        assert.equal(await state(), 'error');
        // The element's ice-timeout runs from the moment it starts connecting.
        const connecting = states.find((e) => e.detail['state'] === 'connecting');
        assert.ok(connecting !== undefined, JSON.stringify(states));
        const elapsed = failed.at - connecting.at;
        t.diagnostic(`client-${index === 0 ? 'a' : 'b'}: ice-failed ${Math.round(elapsed)} ms after connecting`);
        assert.ok(elapsed >= ICE_TIMEOUT_MS - 1_000 && elapsed <= ICE_TIMEOUT_MS + ERROR_BOUND_MS,
          `ice-failed ${Math.round(elapsed)} ms after connecting; expected ${ICE_TIMEOUT_MS} ms + up to ${ERROR_BOUND_MS} ms`);
      } else {
        t.diagnostic(`client-${index === 0 ? 'a' : 'b'}: the other side failed first; back to waiting`);
        assert.equal(await state(), 'waiting');
        assert.deepEqual(events.filter((e) => e.type === 'p2p-peer-leave').map((e) => e.detail['reason']), ['hangup']);
        assert.deepEqual(events.filter((e) => e.type === 'p2p-error'), []);
      }
    }
  });
});
