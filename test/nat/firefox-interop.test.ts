/**
 * A call between Chromium and Firefox ESR: the element on both sides, frames and audio decoded
 * both ways (counted by `getStats()`), and a hangup from Firefox reaching Chromium.
 *
 * Topology (LAB-NOTES: Firefox did not connect over loopback alone, and puppeteer cannot drive a
 * Firefox started inside a namespace): Firefox runs on the host, Chromium inside a namespace of
 * this run joined to the host by a veth pair (lab.ts `createHostLink`), and the signaling server
 * listens on the host's end of that pair, so both browsers load the same page from it and every
 * packet stays on that pair.
 *
 * Root only (namespaces), and Firefox ESR must be installed (scripts/ensure-test-deps.sh installs
 * `firefox-esr`; `FIREFOX_PATH` points elsewhere); otherwise skipped with the reason.
 */
import assert from 'node:assert/strict';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createSignalingServer, type SignalingServer } from '../../server/index.js';
import { CHROMIUM, launchChromium } from '../e2e/browser.js';
import { commandPath, createHostLink, labNamespaces, labSkipReason, removeStaleLabs, type HostLink } from './lab.js';

const FIREFOX = process.env['FIREFOX_PATH'] ?? '/usr/bin/firefox-esr';

function firefoxSkipReason(): string | undefined {
  try {
    accessSync(FIREFOX, constants.X_OK);
    return undefined;
  } catch {
    return `Firefox interop: no Firefox at ${FIREFOX} (apt-get install firefox-esr, or set FIREFOX_PATH)`;
  }
}

const skip = labSkipReason(CHROMIUM) ?? firefoxSkipReason();

/**
 * Firefox as LAB-NOTES describes it: fake camera and microphone without a prompt, host
 * candidates unobfuscated (no mDNS names) and loopback allowed. The page comes from the veth
 * address over plain http, which Firefox (unlike 127.0.0.1) does not count as a secure context:
 * the allowlist makes it one, as `--unsafely-treat-insecure-origin-as-secure` does for Chromium.
 */
async function launchFirefox(secureHost: string): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    // Firefox takes ~18 s to start on a loaded 2-core machine; puppeteer's default gives up at 30 s.
    timeout: 90_000,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      'media.peerconnection.ice.loopback': true,
      'media.peerconnection.ice.obfuscate_host_addresses': false,
      'dom.securecontext.allowlist': secureHost,
      'media.autoplay.default': 0,
    },
  });
}

/**
 * The host page. A classic script runs before the element's module: it records the element's
 * events and every RTCPeerConnection the SDK creates (the SDK does not expose its own), so the
 * test can read `getStats()` in either browser.
 */
function hostPage(room: string, name: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Interop</title>
    <script>
      window.recorded = [];
      for (const type of ['p2p-state-change', 'p2p-peer-join', 'p2p-peer-leave', 'p2p-error']) {
        document.addEventListener(type, (event) => window.recorded.push({ type, detail: event.detail }));
      }
      window.peerConnections = [];
      const NativePeerConnection = window.RTCPeerConnection;
      window.RTCPeerConnection = class extends NativePeerConnection {
        constructor(...args) { super(...args); window.peerConnections.push(this); }
      };
    </script>
    <script type="module" src="/p2p-call.js"></script></head>
    <body><p2p-call room="${room}" autojoin display-name="${name}"></p2p-call></body></html>`;
}

interface Recorded {
  type: string;
  detail: Record<string, unknown>;
}

/**
 * Resolves when the page's element is in `wanted`: at once, or on its `p2p-state-change`
 * (page source text, so the same code runs in Chromium and, over WebDriver BiDi, in Firefox).
 */
function waitForState(page: Page, wanted: string, timeoutMs = 30_000): Promise<void> {
  return page.evaluate(`new Promise((resolve, reject) => {
    const el = document.querySelector('p2p-call');
    if (el.state === ${JSON.stringify(wanted)}) return resolve();
    const timer = setTimeout(() => reject(new Error('state stayed ' + el.state + ', wanted ${wanted}; events '
      + JSON.stringify(window.recorded))), ${timeoutMs});
    el.addEventListener('p2p-state-change', (e) => {
      if (e.detail.state !== ${JSON.stringify(wanted)}) return;
      clearTimeout(timer);
      resolve();
    });
  })`) as Promise<void>;
}

interface Inbound {
  framesDecoded: number;
  audioPackets: number;
}

/** Inbound video frames decoded and audio packets received on the page's live peer connection. */
function inbound(page: Page): Promise<Inbound> {
  return page.evaluate(`(async () => {
    const pc = window.peerConnections.filter((p) => p.connectionState !== 'closed').at(-1);
    const totals = { framesDecoded: 0, audioPackets: 0 };
    if (pc === undefined) return totals;
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') totals.framesDecoded += s.framesDecoded ?? 0;
      if (s.kind === 'audio') totals.audioPackets += s.packetsReceived ?? 0;
    });
    return totals;
  })()`) as Promise<Inbound>;
}

/**
 * Polls `getStats()` (every 250 ms, for at most `timeoutMs`) until, since the first sample, at
 * least `frames` more video frames were decoded and `packets` more audio packets arrived.
 */
async function mediaFlows(page: Page, label: string, frames = 15, packets = 25, timeoutMs = 20_000): Promise<{ first: Inbound; last: Inbound }> {
  const first = await inbound(page);
  const deadline = Date.now() + timeoutMs;
  let last = first;
  while (Date.now() < deadline) {
    last = await inbound(page);
    if (last.framesDecoded - first.framesDecoded >= frames && last.audioPackets - first.audioPackets >= packets) return { first, last };
    await new Promise((done) => setTimeout(done, 250));
  }
  assert.fail(`${label}: inbound media did not flow within ${timeoutMs} ms: first ${JSON.stringify(first)}, last ${JSON.stringify(last)}`);
}

const recorded = (page: Page) => page.evaluate('window.recorded') as Promise<Recorded[]>;

describe('Chromium ↔ Firefox ESR', { skip: skip ?? false }, () => {
  let link: HostLink | undefined;
  let workDir: string | undefined;
  let signaling: SignalingServer | undefined;
  let origin = '';
  let chromium: Browser | undefined;
  let firefox: Browser | undefined;

  /** Synchronous last resort when the process ends without running `after` (crash, Ctrl-C). */
  const onExit = () => {
    for (const browser of [chromium, firefox]) {
      const child = browser?.process();
      if (child?.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
    }
    link?.destroy();
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    onExit();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  async function closeBrowser(browser: Browser | undefined): Promise<void> {
    if (browser === undefined) return;
    const child = browser.process();
    await browser.close().catch(() => undefined);
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  }

  before(async () => {
    const stale = removeStaleLabs();
    if (stale.length > 0) process.stderr.write(`# removed namespaces of a crashed run: ${stale.join(', ')}\n`);
    process.on('exit', onExit);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    link = createHostLink('ff-chromium');
    workDir = mkdtempSync(join(tmpdir(), `p2pnat-${process.pid}-`));
    signaling = createSignalingServer({ host: link.hostAddress, port: 0, logLevel: 'silent', staticDir: workDir });
    origin = await signaling.listen();
    const wrapper = join(workDir, 'chromium.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${commandPath('ip') ?? 'ip'} netns exec ${link.ns} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    [chromium, firefox] = await Promise.all([
      launchChromium({ executablePath: wrapper, extraArgs: [`--unsafely-treat-insecure-origin-as-secure=${origin}`] }),
      launchFirefox(link.hostAddress),
    ]);
  });

  after(async () => {
    const created = link !== undefined;
    await Promise.all([closeBrowser(chromium), closeBrowser(firefox)]);
    await signaling?.close();
    link?.destroy();
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (created) assert.deepEqual(labNamespaces(process.pid), [], 'every namespace of this run is gone');
  });

  test('a call connects, decodes video and audio both ways, and a hangup from Firefox reaches Chromium', { timeout: 120_000 }, async (t) => {
    assert.match(await firefox!.version(), /firefox/i);
    const room = `interop-${process.pid}-${Date.now()}`;
    writeFileSync(join(workDir!, 'interop.html'), hostPage(room, 'Interop'));
    const url = `${origin}/interop.html`;

    const chromePage = await chromium!.newPage();
    await chromePage.goto(url);
    await waitForState(chromePage, 'waiting');
    const firefoxPage = await firefox!.newPage();
    await firefoxPage.goto(url);
    assert.equal(await firefoxPage.evaluate('window.isSecureContext'), true, 'the page is a secure context in Firefox');

    await Promise.all([waitForState(chromePage, 'connected'), waitForState(firefoxPage, 'connected')]);
    const [atChromium, atFirefox] = await Promise.all([mediaFlows(chromePage, 'Chromium'), mediaFlows(firefoxPage, 'Firefox')]);
    t.diagnostic(`Chromium decoded ${atChromium.last.framesDecoded} frames from Firefox, Firefox ${atFirefox.last.framesDecoded} from Chromium`);

    // The call really crosses the veth pair: Chromium's side of the selected pair is its namespace address.
    const chromiumLocal = await chromePage.evaluate(`(async () => {
      const pc = window.peerConnections.filter((p) => p.connectionState !== 'closed').at(-1);
      const stats = [...(await pc.getStats()).values()];
      const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
      const pair = stats.find((s) => s.id === transport.selectedCandidatePairId);
      return stats.find((s) => s.id === pair.localCandidateId).address;
    })()`);
    assert.equal(chromiumLocal, link!.nsAddress);

    await firefoxPage.evaluate(`document.querySelector('p2p-call').hangup()`);
    await waitForState(firefoxPage, 'ended');
    await waitForState(chromePage, 'waiting');
    const events = await recorded(chromePage);
    const joins = events.filter((e) => e.type === 'p2p-peer-join');
    const leaves = events.filter((e) => e.type === 'p2p-peer-leave');
    assert.equal(joins.length, 1, JSON.stringify(joins));
    assert.deepEqual(leaves.map((e) => e.detail), [{ peerId: joins[0]?.detail['peerId'], reason: 'hangup' }]);
    for (const page of [chromePage, firefoxPage]) {
      const errors = (await recorded(page)).filter((e) => e.type === 'p2p-error');
      assert.deepEqual(errors, [], 'no errors on either side');
    }

    await chromePage.evaluate(`document.querySelector('p2p-call').hangup()`);
    await Promise.all([chromePage.close(), firefoxPage.close()]);
  });
});
