/**
 * Issue 11: the other side's link goes dead for 5 s, 12 s and 60 s, with two real browsers.
 * Browser A runs on the host; browser B runs in a network namespace of this run, joined to the
 * host by a veth pair; the signaling server and the page listen on the host end of that pair.
 * An outage drops every packet in and out of B's end (iptables in B's namespace), so A sees
 * plain silence, as when the other person's network goes away.
 *
 * - 5 s: A says `reconnecting` within 3 s (inbound stall; ICE alone says nothing for 5–7.5 s),
 *   never shows "good" quality without media, comes back to `connected` after, with video
 *   frames within 1 s of it, and does not flap.
 * - 12 s: both sides come back to `connected`, no error, no departure.
 * - 60 s: A never ends in an error; it waits for the server's `peer-left` `timeout` and is
 *   `waiting` again (exactly one `p2p-peer-leave`).
 *
 * Root only (ip netns, iptables); otherwise skipped with the reason.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { createSignalingServer, type SignalingServer } from '../../server/index.js';
import { CHROMIUM, launchChromium } from '../e2e/browser.js';
import { waitForElementState as state } from '../e2e/page-helpers.js';
import { commandPath, labSkipReason, run } from './lab.js';

const skip = labSkipReason(CHROMIUM);
const PID = process.pid;
/** Names of this run: a namespace and the two ends of a veth pair (interface names ≤ 15 chars). */
const NS = `p11-${PID}-b`;
const HOST_IF = `p11h${PID % 10_000_000}`;
const NS_IF = `p11b${PID % 10_000_000}`;
const OCTET = 16 + (PID % 200);
const HOST_IP = `10.211.${OCTET}.1`;
const NS_IP = `10.211.${OCTET}.2`;

interface Entry {
  type: string;
  detail: Record<string, unknown>;
  at: number;
}

function createLink(): void {
  run('ip', ['netns', 'add', NS]);
  run('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
  run('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF]);
  run('ip', ['link', 'set', NS_IF, 'netns', NS]);
  run('ip', ['addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF]);
  run('ip', ['link', 'set', HOST_IF, 'up']);
  run('ip', ['netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_IP}/30`, 'dev', NS_IF]);
  run('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up']);
}

function destroyLink(): void {
  for (const args of [['link', 'del', HOST_IF], ['netns', 'del', NS]]) {
    try {
      run('ip', args);
    } catch {
      // already gone
    }
  }
}

/** Cuts (or restores) every packet in and out of B's end of the link. */
function linkDown(down: boolean): void {
  for (const chain of [['INPUT', '-i'], ['OUTPUT', '-o']] as const) {
    run('ip', ['netns', 'exec', NS, 'iptables', '-w', down ? '-I' : '-D', chain[0], ...(down ? ['1'] : []), chain[1], NS_IF, '-j', 'DROP']);
  }
}

describe("the other side's link goes dead (network namespace, two browsers)", { skip: skip ?? false }, () => {
  let signaling: SignalingServer;
  let host: Server;
  let origin: string;
  let workDir: string;
  let browserA: Browser;
  let browserB: Browser;
  const onExit = () => destroyLink();

  before(async () => {
    process.on('exit', onExit);
    destroyLink();
    createLink();
    workDir = mkdtempSync(join(tmpdir(), `p11-${PID}-`));
    // Server defaults (15 s heartbeat, 15 s grace), as deployed.
    signaling = createSignalingServer({ port: 0, host: HOST_IP, logLevel: 'silent' });
    const signalingOrigin = await signaling.listen();
    host = createServer((req, res) => {
      const room = new URL(req.url ?? '/', 'http://x').searchParams.get('room') ?? 'none';
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Outage</title>
        <script type="module" src="${signalingOrigin}/p2p-call.js"></script></head>
        <body><p2p-call room="${room}" autojoin display-name="Lab"></p2p-call></body></html>`);
    });
    await new Promise<void>((done) => host.listen(0, HOST_IP, done));
    origin = `http://${HOST_IP}:${(host.address() as AddressInfo).port}`;
    const secure = `--unsafely-treat-insecure-origin-as-secure=${origin},${signalingOrigin}`;
    const wrapper = join(workDir, 'chromium-b.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${commandPath('ip') ?? 'ip'} netns exec ${NS} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    browserA = await launchChromium({ extraArgs: [secure] });
    browserB = await launchChromium({ executablePath: wrapper, extraArgs: [secure] });
  });

  after(async () => {
    await browserA?.close().catch(() => undefined);
    await browserB?.close().catch(() => undefined);
    await new Promise<void>((done) => (host ? host.close(() => done()) : done()));
    await signaling?.close();
    destroyLink();
    process.off('exit', onExit);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    assert.ok(!run('ip', ['netns', 'list']).includes(NS), 'the namespace of this run is gone');
  });

  async function open(browser: Browser, room: string): Promise<Page> {
    const page = await browser.newPage();
    await page.evaluateOnNewDocument(() => {
      const log: Array<{ type: string; detail: unknown; at: number }> = [];
      (window as unknown as { recorded: typeof log }).recorded = log;
      for (const type of ['p2p-state-change', 'p2p-peer-leave', 'p2p-error', 'p2p-stats']) {
        document.addEventListener(type, (event) => log.push({ type, detail: (event as CustomEvent).detail, at: Date.now() }));
      }
    });
    await page.goto(`${origin}/?room=${room}`);
    return page;
  }

  const recorded = (page: Page) => page.evaluate(() => (window as unknown as { recorded: Entry[] }).recorded);

  async function pair(room: string): Promise<[Page, Page]> {
    const a = await open(browserA, room);
    await state(a, 'waiting');
    const b = await open(browserB, room);
    await Promise.all([state(a, 'connected', 20_000), state(b, 'connected', 20_000)]);
    return [a, b];
  }

  /**
   * Page side: from now on, when the element becomes `connected`, note when 3 new remote frames
   * have been presented after it (`window.framesAfter`: [connectedAt, framesAt] pairs).
   */
  async function watchFrames(page: Page): Promise<void> {
    await page.bringToFront();
    await page.evaluate(`(() => {
      window.framesAfter = [];
      const el = document.querySelector('p2p-call');
      el.addEventListener('p2p-state-change', (e) => {
        if (e.detail.state !== 'connected') return;
        const connectedAt = Date.now();
        const video = el.shadowRoot.querySelector('video[part="remote-video"]');
        // Counted per callback: a new srcObject (a fresh stream after recovery) starts a new load,
        // which drops pending callbacks and restarts presentedFrames; arm again on it.
        let seen = 0;
        let done = false;
        const tick = () => {
          if (done) return;
          if (++seen >= 3) { done = true; window.framesAfter.push([connectedAt, Date.now()]); }
          else video.requestVideoFrameCallback(tick);
        };
        video.addEventListener('loadstart', () => { if (!done) video.requestVideoFrameCallback(tick); });
        video.requestVideoFrameCallback(tick);
      });
    })()`);
  }

  async function hangup(...pages: Page[]): Promise<void> {
    for (const page of pages) {
      await page.evaluate(`document.querySelector('p2p-call')?.hangup()`).catch(() => undefined);
      await page.close().catch(() => undefined);
    }
  }

  /** Asserts no reconnecting ⇄ connected flapping: two opposite changes less than 1 s apart. */
  function assertNoFlapping(events: Entry[]): void {
    const changes = events.filter((e) => e.type === 'p2p-state-change' && ['connected', 'reconnecting'].includes(String(e.detail['state'])));
    for (let i = 2; i < changes.length; i++) {
      const [x, y, z] = [changes[i - 2], changes[i - 1], changes[i]] as [Entry, Entry, Entry];
      if (x.detail['state'] === z.detail['state'] && z.at - x.at < 1_000) {
        assert.fail(`flapping: ${JSON.stringify([x, y, z])}`);
      }
    }
  }

  async function outage(t: TestContext, seconds: number): Promise<{ a: Page; b: Page; downAt: number; upAt: number }> {
    const [a, b] = await pair(`outage-${seconds}-${Date.now()}`);
    await watchFrames(a);
    const downAt = Date.now();
    linkDown(true);
    try {
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000)); // the outage itself, not a wait for something
    } finally {
      linkDown(false);
    }
    const upAt = Date.now();
    t.diagnostic(`link down ${upAt - downAt} ms`);
    return { a, b, downAt, upAt };
  }

  test('5 s: reconnecting within 3 s, never "good" without media, connected again with frames within 1 s, no flapping', { timeout: 90_000 }, async (t) => {
    const { a, b, downAt, upAt } = await outage(t, 5);
    await state(a, 'connected', 20_000);
    await state(b, 'connected', 20_000);
    await a.waitForFunction('window.framesAfter.length > 0', { timeout: 10_000 });
    const events = await recorded(a);
    const stalled = events.find((e) => e.at >= downAt && e.type === 'p2p-state-change' && e.detail['state'] === 'reconnecting');
    assert.ok(stalled, `A said reconnecting: ${JSON.stringify(events.filter((e) => e.type !== 'p2p-stats'))}`);
    t.diagnostic(`A reconnecting ${stalled.at - downAt} ms after the drop`);
    assert.ok(stalled.at - downAt <= 3_000, `A said reconnecting ${stalled.at - downAt} ms after the drop`);
    const good = events.filter((e) => e.type === 'p2p-stats' && e.at >= downAt + 2_100 && e.at <= upAt && e.detail['quality'] === 'good');
    assert.deepEqual(good, [], 'no "good" quality while nothing arrives');
    const [connectedAt, framesAt] = (await a.evaluate('window.framesAfter[0]')) as [number, number];
    t.diagnostic(`A connected ${connectedAt - upAt} ms after the link came back; 3 frames ${framesAt - connectedAt} ms after connected`);
    assert.ok(framesAt - connectedAt <= 1_000, `frames ${framesAt - connectedAt} ms after connected`);
    assertNoFlapping(events);
    const all = [...events, ...(await recorded(b))];
    assert.ok(!all.some((e) => e.type === 'p2p-error' || e.type === 'p2p-peer-leave'), JSON.stringify(all.filter((e) => e.type !== 'p2p-stats')));
    await hangup(a, b);
  });

  test('12 s: both sides connected again, no error, no departure, no flapping', { timeout: 120_000 }, async (t) => {
    const { a, b, upAt } = await outage(t, 12);
    await state(a, 'connected', 30_000);
    await state(b, 'connected', 30_000);
    t.diagnostic(`both connected ${Date.now() - upAt} ms after the link came back`);
    // Measured, not asserted: after this outage the call usually comes back on a new
    // RTCPeerConnection, and Chromium 156's <video> has been seen to present a handful of its
    // frames and then none for 10+ s while getStats says they are decoded (framesDecoded ~20/s,
    // the element visible, playing, readyState 4). Not solved here; see the issue report.
    const presented = await a.waitForFunction('window.framesAfter.length > 0', { timeout: 5_000 }).then(
      async () => {
        const [connectedAt, framesAt] = (await a.evaluate('window.framesAfter[0]')) as [number, number];
        return `${framesAt - connectedAt} ms after connected`;
      },
      () => 'not within 5 s of waiting',
    );
    t.diagnostic(`A: 3 remote frames presented ${presented}`);
    const eventsA = await recorded(a);
    const all = [...eventsA, ...(await recorded(b))];
    assert.ok(!all.some((e) => e.type === 'p2p-error' || e.type === 'p2p-peer-leave'), JSON.stringify(all.filter((e) => e.type !== 'p2p-stats')));
    assertNoFlapping(eventsA);
    await hangup(a, b);
  });

  test("60 s: the side whose network is fine never errors; peer-left timeout brings it back to waiting", { timeout: 150_000 }, async (t) => {
    const { a, b, downAt } = await outage(t, 60);
    const events = await recorded(a);
    const since = events.filter((e) => e.at >= downAt && e.type !== 'p2p-stats');
    t.diagnostic(`A: ${since.map((e) => `${e.type}:${String(e.detail['state'] ?? e.detail['reason'] ?? e.detail['code'])}@${e.at - downAt}`).join(' ')}`);
    assert.ok(!since.some((e) => e.type === 'p2p-error'), `no error on A: ${JSON.stringify(since)}`);
    const leaves = since.filter((e) => e.type === 'p2p-peer-leave');
    assert.equal(leaves.length, 1, JSON.stringify(since));
    assert.equal(leaves[0]?.detail['reason'], 'timeout');
    assert.equal(await a.evaluate(`document.querySelector('p2p-call').state`), 'waiting');
    const bEvents = (await recorded(b)).filter((e) => e.at >= downAt && e.type !== 'p2p-stats');
    t.diagnostic(`B: ${bEvents.map((e) => `${e.type}:${String(e.detail['state'] ?? e.detail['reason'] ?? e.detail['code'])}@${e.at - downAt}`).join(' ')}`);
    await hangup(a, b);
  });
});
