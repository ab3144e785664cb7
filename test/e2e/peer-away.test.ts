/**
 * Issue 11, with two real browsers (two Chromium processes): the other person's page closes or
 * reloads mid-call without hanging up.
 *
 * - Closed: within 2 s this side says so in words (no frozen picture labelled connected), and
 *   within 5 s it is back to `waiting` with exactly one `p2p-peer-leave` (`away` + the server's
 *   short hold of the seat, docs/protocol.md).
 * - Reloaded: the call comes back (same seat, resumed), frames decode within 5 s on both sides,
 *   and there is no `p2p-peer-leave`.
 * - The demo's header "Leave" hangs up: the other side hears `hangup` at once.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { createSignalingServer, type SignalingServer } from '../../server/index.js';
import { launchChromium } from './browser.js';
import { remoteFramesAdvance, waitForElementState as state } from './page-helpers.js';

const browsers: Browser[] = [];
let signaling: SignalingServer;
let origin: string;
let host: Server;
let hostOrigin: string;

before(async () => {
  signaling = createSignalingServer({ port: 0, logLevel: 'silent' });
  origin = await signaling.listen();
  host = createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const room = query.get('room') ?? 'none';
    // lobby=1: no autojoin and no name: the visitor types a name and presses Join.
    const attributes = query.get('lobby') === '1' ? '' : 'autojoin display-name="Guest"';
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Away</title>
      <script type="module" src="${origin}/p2p-call.js"></script></head>
      <body><p2p-call room="${room}" ${attributes}></p2p-call></body></html>`);
  });
  await new Promise<void>((done) => host.listen(0, '127.0.0.1', done));
  hostOrigin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
  browsers.push(await launchChromium(), await launchChromium());
});

after(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await new Promise<void>((done) => host?.close(() => done()));
  await signaling?.close();
});

interface Entry {
  type: string;
  detail: Record<string, unknown>;
  at: number;
}

/** Opens a page with a recorder of the element's events (time-stamped on the page's clock). */
async function open(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.evaluateOnNewDocument(() => {
    const log: Array<{ type: string; detail: unknown; at: number }> = [];
    (window as unknown as { recorded: typeof log }).recorded = log;
    for (const type of ['p2p-state-change', 'p2p-peer-join', 'p2p-peer-leave', 'p2p-error']) {
      document.addEventListener(type, (event) => log.push({ type, detail: (event as CustomEvent).detail, at: Date.now() }));
    }
  });
  await page.goto(url);
  return page;
}

const recorded = (page: Page) => page.evaluate(() => (window as unknown as { recorded: Entry[] }).recorded);

/** Waits (on events) until the status text of the element matches `pattern`; returns it and when. */
function statusText(page: Page, pattern: RegExp, timeoutMs: number): Promise<{ text: string; at: number; videoHidden: boolean }> {
  return page.evaluate(`new Promise((resolve, reject) => {
    const el = document.querySelector('p2p-call');
    const check = async () => {
      await el.updateComplete;
      const status = el.shadowRoot.querySelector('[part~="status"]');
      const text = status ? status.textContent.trim() : '';
      if (!${pattern.toString()}.test(text)) return false;
      const video = el.shadowRoot.querySelector('video[part="remote-video"]');
      resolve({ text, at: Date.now(), videoHidden: !video || video.hidden || status.classList.contains('overlay') });
      return true;
    };
    const timer = setTimeout(() => reject(new Error('status text never matched ${pattern.source}; state ' + el.state)), ${timeoutMs});
    check().then((done) => {
      if (done) return clearTimeout(timer);
      const observer = new MutationObserver(() => check().then((ok) => { if (ok) { clearTimeout(timer); observer.disconnect(); } }));
      observer.observe(el.shadowRoot, { subtree: true, childList: true, characterData: true, attributes: true });
    });
  })`) as Promise<{ text: string; at: number; videoHidden: boolean }>;
}

async function pair(room: string): Promise<[Page, Page]> {
  const [first, second] = browsers as [Browser, Browser];
  const a = await open(first, `${hostOrigin}/?room=${room}`);
  await state(a, 'waiting');
  const b = await open(second, `${hostOrigin}/?room=${room}`);
  await Promise.all([state(a, 'connected'), state(b, 'connected')]);
  await Promise.all([remoteFramesAdvance(a), remoteFramesAdvance(b)]);
  return [a, b];
}

describe("the other person's page goes away without hanging up (two browsers)", () => {
  test('tab closed: said in words within 2 s, back to waiting with exactly one peer-leave within 5 s', async () => {
    const [a, b] = await pair(`away-close-${Date.now()}`);
    const shown = statusText(a, /dropped out/i, 10_000);
    const waiting = a.evaluate(`new Promise((resolve) => {
      const el = document.querySelector('p2p-call');
      el.addEventListener('p2p-state-change', (e) => { if (e.detail.state === 'waiting') resolve(Date.now()); });
    })`) as Promise<number>;
    const closedAt = Date.now();
    await b.close({ runBeforeUnload: false });
    const said = await shown;
    const backAt = await waiting;
    assert.ok(said.at - closedAt < 2_000, `said "${said.text}" ${said.at - closedAt} ms after the close`);
    assert.ok(said.videoHidden, 'the frozen picture is covered, not labelled connected');
    assert.ok(backAt - closedAt < 5_000, `waiting ${backAt - closedAt} ms after the close`);
    const events = await recorded(a);
    const since = events.filter((e) => e.at >= closedAt);
    const leaves = since.filter((e) => e.type === 'p2p-peer-leave');
    assert.equal(leaves.length, 1, JSON.stringify(since));
    assert.equal(leaves[0]?.detail['reason'], 'timeout');
    assert.ok(!since.some((e) => e.type === 'p2p-error'), JSON.stringify(since));
    assert.ok(!since.some((e) => e.type === 'p2p-state-change' && e.detail['state'] === 'connected'), 'never "connected" again');
    await a.evaluate(`document.querySelector('p2p-call').hangup()`);
    await a.close();
  });

  test('tab reloaded: the call comes back, frames decode within 5 s on both sides, no peer-leave', async () => {
    const [a, b] = await pair(`away-reload-${Date.now()}`);
    const reloadAt = Date.now();
    await b.reload();
    await Promise.all([state(a, 'connected', 10_000), state(b, 'connected', 10_000)]);
    await Promise.all([remoteFramesAdvance(a), remoteFramesAdvance(b)]);
    const took = Date.now() - reloadAt;
    assert.ok(took < 5_000, `frames decoding on both sides ${took} ms after the reload`);
    // Past the away grace (4 s): still no departure.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 4_500 - (Date.now() - reloadAt))));
    const events = (await recorded(a)).filter((e) => e.at >= reloadAt);
    assert.ok(!events.some((e) => e.type === 'p2p-peer-leave' || e.type === 'p2p-error'), JSON.stringify(events));
    assert.equal(await a.evaluate(`document.querySelector('p2p-call').state`), 'connected');
    for (const page of [a, b]) await page.evaluate(`document.querySelector('p2p-call').hangup()`);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('the element after a reload', () => {
  test('joined from the lobby, reloaded mid-call: it rejoins the held seat by itself with the same name; the other side sees a reconnect', async () => {
    const room = `rejoin-${Date.now()}`;
    const [first, second] = browsers as [Browser, Browser];
    const a = await open(first, `${hostOrigin}/?room=${room}`);
    await state(a, 'waiting');
    const b = await open(second, `${hostOrigin}/?room=${room}&lobby=1`);
    await state(b, 'preview');
    await b.evaluate(`(async () => {
      const el = document.querySelector('p2p-call');
      await el.updateComplete;
      const input = el.shadowRoot.querySelector('form input');
      input.value = 'Ada';
      input.dispatchEvent(new Event('input'));
      el.shadowRoot.querySelector('[part="join-button"]').click();
    })()`);
    await Promise.all([state(a, 'connected'), state(b, 'connected')]);
    const name = () => a.evaluate(`new Promise((resolve) => {
      const seen = window.recorded.filter((e) => e.type === 'p2p-peer-join' || e.type === 'p2p-remote-media-change');
      const el = document.querySelector('p2p-call');
      resolve(el.shadowRoot.querySelector('.remote-label span')?.textContent ?? '');
    })`) as Promise<string>;
    await a.waitForFunction(`document.querySelector('p2p-call').shadowRoot.querySelector('.remote-label span')?.textContent === 'Ada'`, { timeout: 10_000 });
    const reloadAt = Date.now();
    await b.reload();
    // No click: straight back into the call, not the lobby.
    await state(b, 'connected', 10_000);
    const bStates = (await recorded(b)).filter((e) => e.type === 'p2p-state-change').map((e) => e.detail['state']);
    assert.ok(!bStates.includes('preview'), `no lobby after the reload: ${bStates.join(' ')}`);
    await state(a, 'connected', 10_000);
    await Promise.all([remoteFramesAdvance(a), remoteFramesAdvance(b)]);
    await a.waitForFunction(`document.querySelector('p2p-call').shadowRoot.querySelector('.remote-label span')?.textContent === 'Ada'`, { timeout: 10_000 });
    assert.equal(await name(), 'Ada');
    const events = (await recorded(a)).filter((e) => e.at >= reloadAt);
    assert.ok(!events.some((e) => e.type === 'p2p-peer-leave' || e.type === 'p2p-error'), JSON.stringify(events));
    for (const page of [a, b]) await page.evaluate(`document.querySelector('p2p-call').hangup()`);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('the demo', () => {
  test('the header "Leave" hangs up: the other side hears hangup at once', async () => {
    const room = `demo-leave-${Date.now()}`;
    const [first, second] = browsers as [Browser, Browser];
    const a = await open(first, `${origin}/r/${room}`);
    const b = await open(second, `${origin}/r/${room}`);
    for (const page of [a, b]) {
      await page.evaluate(`customElements.whenDefined('p2p-call').then(() => document.querySelector('p2p-call').join())`);
    }
    await Promise.all([state(a, 'connected'), state(b, 'connected')]);
    const left = b.evaluate(`new Promise((resolve) => document.addEventListener('p2p-peer-leave', (e) => resolve({ reason: e.detail.reason, at: Date.now() })))`) as Promise<{ reason: string; at: number }>;
    const clickedAt = Date.now();
    await Promise.all([a.waitForNavigation(), a.click('.header-tools .leave')]);
    const { reason, at } = await left;
    assert.equal(reason, 'hangup');
    assert.ok(at - clickedAt < 1_500, `peer-leave ${at - clickedAt} ms after the click`);
    await b.evaluate(`document.querySelector('p2p-call').hangup()`);
    await Promise.all([a.close(), b.close()]);
  });
});
