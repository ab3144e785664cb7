/**
 * The script-tag embed as a third-party page uses it: a host page on one origin, under a strict
 * Content-Security-Policy, loads /p2p-call.js from the signaling server on another origin and
 * places <p2p-call autojoin> with no `server` attribute (so it finds the server from its own
 * script URL). Two pages connect and decode each other's video; a hangup ends one side and
 * sends the other back to waiting; a third page is told the room is full. Also: a denied camera
 * (banner, receive-only) and a peer that vanishes mid-call (the reconnecting overlay on top).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { createSignalingServer, type SignalingServer } from '../../server/index.js';
import { launchChromium } from './browser.js';
import { remoteFramesAdvance, waitForElementState as state } from './page-helpers.js';

let browser: Browser;
let signaling: SignalingServer;
let signalingOrigin: string;
let host: Server;
let hostOrigin: string;

/** The third-party page: nothing but the script tag and the element, under a strict CSP. */
function hostPage(room: string, script: 'esm' | 'iife', lang = 'en'): string {
  const tag = script === 'esm'
    ? `<script type="module" src="${signalingOrigin}/p2p-call.js"></script>`
    : `<script src="${signalingOrigin}/p2p-call.iife.js"></script>`;
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>Host page</title>${tag}</head>
    <body><p2p-call room="${room}" autojoin display-name="Guest"></p2p-call></body></html>`;
}

before(async () => {
  signaling = createSignalingServer({ port: 0, logLevel: 'silent' });
  signalingOrigin = await signaling.listen();
  const wsOrigin = signalingOrigin.replace('http', 'ws');
  host = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const room = url.searchParams.get('room') ?? 'none';
    const script = url.searchParams.get('script') === 'iife' ? 'iife' : 'esm';
    const lang = /^[A-Za-z-]{2,10}$/.test(url.searchParams.get('lang') ?? '') ? url.searchParams.get('lang')! : 'en';
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      // No inline script, no eval, no inline style; only the call server's origin.
      'Content-Security-Policy': [
        "default-src 'none'",
        `script-src ${signalingOrigin}`,
        `connect-src ${wsOrigin} ${signalingOrigin}`,
        "style-src 'self'",
        "media-src 'self' blob: mediastream:",
        "img-src 'self' data:",
      ].join('; '),
    });
    res.end(hostPage(room, script, lang));
  });
  await new Promise<void>((done) => host.listen(0, '127.0.0.1', done));
  hostOrigin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise<void>((done) => host?.close(() => done()));
  await signaling?.close();
});

interface Recorded {
  events: Array<{ type: string; detail: Record<string, unknown> }>;
  csp: string[];
}

/** Opens the host page with recorders installed before any page script runs (exempt from CSP). */
async function openHost(room: string, script: 'esm' | 'iife' = 'esm', inBrowser: Browser = browser, lang = 'en'): Promise<Page> {
  const page = await inBrowser.newPage();
  await page.evaluateOnNewDocument(() => {
    const recorded = { events: [] as Array<{ type: string; detail: unknown }>, csp: [] as string[] };
    (window as unknown as { recorded: typeof recorded }).recorded = recorded;
    for (const type of ['p2p-state-change', 'p2p-peer-join', 'p2p-peer-leave', 'p2p-error', 'p2p-remote-media-change']) {
      document.addEventListener(type, (event) => recorded.events.push({ type, detail: (event as CustomEvent).detail }));
    }
    document.addEventListener('securitypolicyviolation', (event) => recorded.csp.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
  await page.goto(`${hostOrigin}/?room=${room}&script=${script}&lang=${lang}`);
  return page;
}

const recorded = (page: Page) => page.evaluate(() => (window as unknown as { recorded: Recorded }).recorded);

describe('script-tag embed on a third-party origin under a strict CSP', () => {
  test('two pages connect, decode video both ways, hang up, and a third is refused', async () => {
    const room = `embed-${Date.now()}`;
    const a = await openHost(room);
    await state(a, 'waiting');
    const b = await openHost(room, 'iife');
    await Promise.all([state(a, 'connected'), state(b, 'connected')]);
    await remoteFramesAdvance(a);
    await remoteFramesAdvance(b);
    // Each side is told about the other once, with the other's id and (if known by then) name.
    const [joinsAtA, joinsAtB] = await Promise.all([a, b].map(async (page) => (await recorded(page)).events.filter((e) => e.type === 'p2p-peer-join')));
    assert.equal(joinsAtA?.length, 1, `one p2p-peer-join at a: ${JSON.stringify(joinsAtA)}`);
    assert.equal(joinsAtB?.length, 1, `one p2p-peer-join at b: ${JSON.stringify(joinsAtB)}`);
    const [bSeenByA, aSeenByB] = [joinsAtA?.[0]?.detail, joinsAtB?.[0]?.detail];
    assert.match(String(bSeenByA?.['peerId']), /\S/);
    assert.match(String(aSeenByB?.['peerId']), /\S/);
    assert.notEqual(bSeenByA?.['peerId'], aSeenByB?.['peerId'], 'each side names the other, not itself');
    for (const detail of [bSeenByA, aSeenByB]) {
      assert.ok(detail?.['displayName'] === undefined || detail['displayName'] === 'Guest', JSON.stringify(detail));
    }

    const third = await openHost(room);
    await state(third, 'error');
    const thirdEvents = await recorded(third);
    assert.deepEqual(thirdEvents.events.find((e) => e.type === 'p2p-error')?.detail, {
      code: 'room-full', message: thirdEvents.events.find((e) => e.type === 'p2p-error')?.detail['message'], fatal: true,
    });
    await third.close();

    await a.evaluate(() => (document.querySelector('p2p-call') as HTMLElement & { hangup(): void }).hangup());
    await state(a, 'ended');
    await state(b, 'waiting');
    const bEvents = await recorded(b);
    const leaves = bEvents.events.filter((e) => e.type === 'p2p-peer-leave');
    assert.equal(leaves.length, 1, `exactly one p2p-peer-leave: ${JSON.stringify(leaves)}`);
    assert.deepEqual(leaves[0]?.detail, { peerId: aSeenByB?.['peerId'], reason: 'hangup' }, 'the one who joined is the one who left');

    for (const page of [a, b]) {
      const { csp, events } = await recorded(page);
      assert.deepEqual(csp, [], 'no Content-Security-Policy violations');
      assert.ok(!events.some((e) => e.type === 'p2p-error'), JSON.stringify(events.filter((e) => e.type === 'p2p-error')));
    }
    await Promise.all([a.close(), b.close()]);
  });

  test('a denied camera and microphone: a banner says how to allow them, and the call goes on receive-only', async () => {
    const denying = await launchChromium({ fakeUi: false });
    try {
      await denying.defaultBrowserContext().overridePermissions(hostOrigin, []);
      const room = `denied-${Date.now()}`;
      const a = await openHost(room, 'esm', denying);
      await state(a, 'waiting');
      const b = await openHost(room);
      await Promise.all([state(a, 'connected'), state(b, 'connected')]);
      const { events } = await recorded(a);
      const errors = events.filter((e) => e.type === 'p2p-error').map((e) => e.detail);
      // One per kind that was refused (microphone, camera), none fatal.
      assert.ok(errors.length >= 1 && errors.every((e) => e['code'] === 'media-denied' && e['fatal'] === false), JSON.stringify(errors));
      const banner = await a.evaluate(`document.querySelector('p2p-call').shadowRoot.querySelector('.notice[role="alert"]')?.textContent ?? ''`) as string;
      assert.match(banner, /blocked.*Allow them/s, 'the banner says what happened and what to do');
      // Receive-only: the denied side still sees the other's video.
      await remoteFramesAdvance(a);
      await b.evaluate(`document.querySelector('p2p-call').hangup()`);
      await b.close();
    } finally {
      await denying.close();
    }
  });

  test('the other side vanishes mid-call: "dropped out" (reconnecting) shows on top, even over an open chat panel', async () => {
    const room = `vanish-${Date.now()}`;
    const a = await openHost(room);
    await state(a, 'waiting');
    const b = await openHost(room);
    await Promise.all([state(a, 'connected'), state(b, 'connected')]);
    await a.evaluate(`document.querySelector('p2p-call').shadowRoot.querySelector('button[aria-label="Chat"]').click()`);
    // Closed without hanging up: its page says `away` on pagehide, media stops.
    await b.close();
    await state(a, 'reconnecting', 30_000);
    const seen = await a.evaluate(`(async () => {
      const el = document.querySelector('p2p-call');
      await el.updateComplete;
      const root = el.shadowRoot;
      const overlay = root.querySelector('[part~="status"]');
      const box = overlay.getBoundingClientRect();
      const hit = root.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
      return { chatOpen: root.querySelector('.chat') !== null, text: overlay.textContent.trim(), onTop: overlay.contains(hit) };
    })()`) as { chatOpen: boolean; text: string; onTop: boolean };
    assert.deepEqual(seen, { chatOpen: true, text: seen.text, onTop: true }, 'the overlay is the topmost thing at its centre');
    assert.match(seen.text, /dropped out/i);
    const { events } = await recorded(a);
    assert.ok(!events.some((e) => e.type === 'p2p-error' || e.type === 'p2p-peer-leave'), 'not an error, not a departure (yet)');
    await a.evaluate(`document.querySelector('p2p-call').hangup()`);
    await a.close();
  });
});

describe('languages other than English load from next to the bundle, only when used', () => {
  for (const script of ['esm', 'iife'] as const) {
    test(`${script}: a German page gets German from /lang/de.js, and no other language file`, async () => {
      const page = await openHost(`lang-${script}-${Date.now().toString(36)}`, script, browser, 'de');
      try {
        await state(page, 'waiting');
        await page.waitForFunction(() => document.querySelector('p2p-call')?.shadowRoot?.textContent?.includes('Warten auf die andere Person'), { polling: 100, timeout: 10_000 });
        const files = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((name) => name.includes('/lang/')));
        assert.deepEqual(files, [`${signalingOrigin}/lang/de.js`]);
        assert.deepEqual((await recorded(page)).csp, [], 'no CSP violation');
      } finally {
        await page.evaluate(() => document.querySelector('p2p-call')?.hangup());
        await page.close();
      }
    });
  }

  test('an English page loads no language file at all', async () => {
    const page = await openHost(`lang-en-${Date.now().toString(36)}`, 'esm');
    try {
      await state(page, 'waiting');
      const files = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((name) => name.includes('/lang/')));
      assert.deepEqual(files, []);
    } finally {
      await page.evaluate(() => document.querySelector('p2p-call')?.hangup());
      await page.close();
    }
  });
});
