/**
 * Host pages that make life hard for an embedded widget, with the script-tag embed in real
 * Chromium pages (two per call):
 *
 * - the element inside a cross-origin iframe (another port of 127.0.0.1 is another origin) that
 *   allows camera and microphone: the call connects and remote frames are presented inside the
 *   frame; without `allow` the frame's media is refused (so the attribute is what makes it work);
 * - a host stylesheet with `* { all: unset }` and `video { display: none }`: the element's own
 *   UI (shadow DOM) still shows the remote video on top, presenting frames, and its controls;
 * - display names and chat text made of markup are shown as text: no element is created from
 *   them and no handler in them runs, on either page.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, Frame, Page } from 'puppeteer-core';
import { createSignalingServer, type SignalingServer } from '../../server/index.js';
import { launchChromium } from './browser.js';
import { remoteFramesAdvance, waitForElementState as state } from './page-helpers.js';

let browser: Browser;
let signaling: SignalingServer;
let signalingOrigin: string;
/** Two origins of the embedding site: the host page's and the iframe's. */
const sites: Server[] = [];
let hostOrigin: string;
let frameOrigin: string;
const pages: Page[] = [];

/**
 * Records the element's events and CSP-free proof of script injection (`window.__pwned`).
 * Runs as a classic inline script before the element's module.
 */
const RECORDER = `<script>
  window.recorded = [];
  for (const type of ['p2p-state-change', 'p2p-peer-join', 'p2p-peer-leave', 'p2p-error', 'p2p-message', 'p2p-remote-media-change']) {
    document.addEventListener(type, (event) => window.recorded.push({ type, detail: event.detail }));
  }
</script>`;

/** The element with the script tag from the call server; the display name comes from `?name=` (set as an attribute, never parsed as markup here). */
function embedPage(room: string, head = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Embed</title>${RECORDER}${head}
    <script type="module" src="${signalingOrigin}/p2p-call.js"></script></head>
    <body><p id="before">The host page's own text, before the call.</p><p2p-call room="${room}" autojoin></p2p-call>
    <script>document.querySelector('p2p-call').setAttribute('display-name', new URLSearchParams(location.search).get('name') ?? 'Guest');</script>
    </body></html>`;
}

/** The aggressive host stylesheet of the issue. */
const HOSTILE_CSS = '<style>* { all: unset } video { display: none }</style>';

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const room = encodeURIComponent(url.searchParams.get('room') ?? 'none');
  const name = url.searchParams.get('name') ?? 'Guest';
  let body: string;
  if (url.pathname === '/embed') {
    body = embedPage(room);
  } else if (url.pathname === '/hostile-css') {
    body = embedPage(room, HOSTILE_CSS);
  } else if (url.pathname === '/host-frame') {
    // The embedding page: only an iframe from the other origin, with or without media allowed.
    const allow = url.searchParams.get('allow') === '0' ? '' : ' allow="camera; microphone; display-capture; fullscreen"';
    const src = `${frameOrigin}/embed?room=${room}&name=${encodeURIComponent(name)}`;
    body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host page</title></head>
      <body><iframe src="${src}"${allow} style="width:640px;height:480px;border:0"></iframe></body></html>`;
  } else {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}

before(async () => {
  signaling = createSignalingServer({ port: 0, logLevel: 'silent' });
  signalingOrigin = await signaling.listen();
  const origins: string[] = [];
  for (let i = 0; i < 2; i++) {
    const site = createServer(route);
    await new Promise<void>((done) => site.listen(0, '127.0.0.1', done));
    sites.push(site);
    origins.push(`http://127.0.0.1:${(site.address() as AddressInfo).port}`);
  }
  [hostOrigin, frameOrigin] = origins as [string, string];
  browser = await launchChromium();
});

afterEach(async () => {
  // Hang up (closing the peer connections) in every frame, then close the pages, passed or not.
  await Promise.all(pages.splice(0).map(async (page) => {
    for (const frame of page.frames()) await frame.evaluate(`document.querySelector('p2p-call')?.hangup()`).catch(() => undefined);
    await page.close().catch(() => undefined);
  }));
});

after(async () => {
  await browser?.close();
  await Promise.all(sites.map((site) => new Promise<void>((done) => {
    site.closeAllConnections();
    site.close(() => done());
  })));
  await signaling?.close();
});

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

interface Recorded {
  type: string;
  detail: Record<string, unknown>;
}

async function open(url: string): Promise<Page> {
  const page = await browser.newPage();
  pages.push(page);
  await page.goto(url);
  return page;
}

/** The iframe of `page` that comes from the frame origin, once its element is defined. */
async function embedFrame(page: Page): Promise<Frame> {
  const handle = await page.waitForSelector('iframe', { timeout: 15_000 });
  const frame = await handle!.contentFrame();
  assert.ok(frame !== null, 'the iframe has a frame');
  await frame.waitForFunction(`customElements.get('p2p-call') !== undefined`, { timeout: 15_000 });
  assert.equal(new URL(frame.url()).origin, frameOrigin);
  return frame;
}

const recorded = (target: Page | Frame) => target.evaluate('window.recorded') as Promise<Recorded[]>;

const errorsOf = async (target: Page | Frame) => (await recorded(target)).filter((e) => e.type === 'p2p-error').map((e) => e.detail);

const room = (name: string) => `${name}-${process.pid}-${Date.now()}`;

describe('hostile host pages', () => {
  test('inside a cross-origin iframe that allows media: connects, and remote frames are presented inside the frame', async () => {
    const r = room('iframe');
    const a = await open(`${hostOrigin}/host-frame?room=${r}&name=A`);
    const frameA = await embedFrame(a);
    await state(frameA, 'waiting');
    const b = await open(`${hostOrigin}/host-frame?room=${r}&name=B`);
    const frameB = await embedFrame(b);

    // Really cross-origin: the host page cannot reach into the frame's document.
    assert.equal(await a.evaluate(`(() => { try { return document.querySelector('iframe').contentDocument === null; } catch { return true; } })()`), true);
    assert.deepEqual(await frameA.evaluate(`['camera', 'microphone', 'display-capture', 'fullscreen'].filter((f) => !document.featurePolicy.allowsFeature(f))`), [],
      'every feature the iframe allows is allowed inside it');

    await Promise.all([state(frameA, 'connected', 30_000), state(frameB, 'connected', 30_000)]);
    await remoteFramesAdvance(frameA);
    await remoteFramesAdvance(frameB);
    for (const frame of [frameA, frameB]) {
      // Both sides sent their camera and microphone (allowed in the frame), so no media error.
      assert.deepEqual(await errorsOf(frame), []);
      const local = await frame.evaluate(`document.querySelector('p2p-call').shadowRoot.querySelector('video[part="local-video"]').srcObject?.getTracks().map((t) => t.kind + ':' + t.readyState).sort()`);
      assert.deepEqual(local, ['audio:live', 'video:live']);
    }
  });

  test('inside a cross-origin iframe without `allow`: the frame is refused camera and microphone (media-denied, not fatal)', async () => {
    const page = await open(`${hostOrigin}/host-frame?room=${room('noallow')}&name=A&allow=0`);
    const frame = await embedFrame(page);
    await state(frame, 'waiting', 30_000);
    assert.equal(await frame.evaluate('document.featurePolicy.allowsFeature("camera")'), false);
    const errors = await errorsOf(frame);
    assert.ok(errors.length >= 1 && errors.every((e) => e['code'] === 'media-denied' && e['fatal'] === false), JSON.stringify(errors));
  });

  test('host CSS `* { all: unset } video { display: none }`: the remote video still shows on top and presents frames, and the controls show', async () => {
    const r = room('css');
    const a = await open(`${hostOrigin}/hostile-css?room=${r}&name=A`);
    await state(a, 'waiting');
    const b = await open(`${hostOrigin}/hostile-css?room=${r}&name=B`);
    await Promise.all([state(a, 'connected', 30_000), state(b, 'connected', 30_000)]);
    for (const page of [a, b]) {
      // The host's rules are really in force on the host's own elements.
      assert.equal(await page.evaluate(`getComputedStyle(document.body).display`), 'inline', 'all: unset applies to the host page');
      await remoteFramesAdvance(page);
      const seen = await page.evaluate(`(async () => {
        const el = document.querySelector('p2p-call');
        await el.updateComplete;
        const root = el.shadowRoot;
        const visible = (node) => {
          if (node === null) return null;
          const style = getComputedStyle(node);
          // The element now keeps to its box in the page's flow, which may reach below the fold.
          node.scrollIntoView({ block: 'center' });
          const box = node.getBoundingClientRect();
          const hit = root.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
          return { display: style.display, visibility: style.visibility, opacity: style.opacity,
            width: Math.round(box.width), height: Math.round(box.height), onTop: hit === node || node.contains(hit) };
        };
        return {
          remote: visible(root.querySelector('video[part="remote-video"]')),
          hangup: visible(root.querySelector('[part~="hangup-button"]')),
        };
      })()`) as Record<'remote' | 'hangup', { display: string; visibility: string; opacity: string; width: number; height: number; onTop: boolean } | null>;
      for (const [what, box] of Object.entries(seen)) {
        assert.ok(box !== null, `${what} is rendered`);
        assert.notEqual(box.display, 'none', `${what}: ${JSON.stringify(box)}`);
        assert.equal(box.visibility, 'visible', `${what}: ${JSON.stringify(box)}`);
        assert.equal(box.opacity, '1', `${what}: ${JSON.stringify(box)}`);
        assert.ok(box.width >= 40 && box.height >= 30, `${what} has a usable size: ${JSON.stringify(box)}`);
        assert.equal(box.onTop, true, `${what} is the topmost thing at its centre: ${JSON.stringify(box)}`);
      }
      assert.deepEqual(await errorsOf(page), []);
    }
  });

  test('host CSS `* { all: unset }`: the element keeps to its own box and leaves the host page\'s content visible', {
    // Declarations from the page beat the element's own `:host` rules unless those are !important
    // (then the shadow tree wins): the element marks what its layout stands on !important.
  }, async () => {
    const page = await open(`${hostOrigin}/hostile-css?room=${room('box')}&name=A`);
    await state(page, 'waiting');
    const seen = await page.evaluate(`(async () => {
      const el = document.querySelector('p2p-call');
      await el.updateComplete;
      const rect = (node) => { const b = node.getBoundingClientRect(); return { x: Math.round(b.x), y: Math.round(b.y), width: Math.round(b.width), height: Math.round(b.height) }; };
      const text = document.getElementById('before');
      const t = text.getBoundingClientRect();
      return { host: rect(el), base: rect(el.shadowRoot.querySelector('[part="base"]')), display: getComputedStyle(el).display,
        textVisible: document.elementFromPoint(t.x + t.width / 2, t.y + t.height / 2) === text };
    })()`) as { host: Box; base: Box; display: string; textVisible: boolean };
    const inside = seen.base.x >= seen.host.x - 1 && seen.base.y >= seen.host.y - 1
      && seen.base.x + seen.base.width <= seen.host.x + seen.host.width + 1 && seen.base.y + seen.base.height <= seen.host.y + seen.host.height + 1;
    assert.ok(inside && seen.host.height >= 100, `the UI stays inside the element's box, and the box is not collapsed: ${JSON.stringify(seen)}`);
    assert.equal(seen.textVisible, true, `the host page's text before the element is not covered: ${JSON.stringify(seen)}`);
  });

  test('display names and chat text are shown as text, never as markup', async () => {
    const nameA = '<img src=x onerror="window.__pwned=1"><b>bold A</b>';
    const nameB = '<b>bold B</b><script>window.__pwned=2</script>';
    const chat = '<img src=x onerror="window.__pwned=3"> and <b>bold</b> &amp; <i>more</i>';
    const r = room('names');
    const a = await open(`${hostOrigin}/embed?room=${r}&name=${encodeURIComponent(nameA)}`);
    await state(a, 'waiting');
    const b = await open(`${hostOrigin}/embed?room=${r}&name=${encodeURIComponent(nameB)}`);
    await Promise.all([state(a, 'connected', 30_000), state(b, 'connected', 30_000)]);

    await a.evaluate(`document.querySelector('p2p-call').sendMessage(${JSON.stringify(chat)})`);
    // Delivered as the very string that was sent.
    await b.waitForFunction(`window.recorded.some((e) => e.type === 'p2p-message' && e.detail.text === ${JSON.stringify(chat)})`, { timeout: 15_000 });

    /** Waits (bounded) until an element of the shadow root, with no element children, has exactly `text` as its text. */
    const shownAsText = (page: Page, text: string, where: string) => page.waitForFunction(`(() => {
      const root = document.querySelector('p2p-call').shadowRoot;
      return [...root.querySelectorAll(${JSON.stringify(where)})].some((node) => node.children.length === 0 && node.textContent === ${JSON.stringify(text)});
    })()`, { timeout: 15_000 }).then(() => undefined, () => assert.fail(`"${text}" is not shown as text in ${where}`));

    // Each side shows the other's name (the remote label) as the raw string.
    await shownAsText(a, nameB, '*');
    await shownAsText(b, nameA, '*');
    // Both chat logs show the message as the raw string (sender's and receiver's).
    for (const page of [a, b]) {
      await page.evaluate(`document.querySelector('p2p-call').shadowRoot.querySelector('[part~="chat-button"]').click()`);
      await shownAsText(page, chat, '[part~="chat"] *');
    }
    // One more round trip, so that anything the markup could have triggered has had its chance.
    await b.evaluate(`document.querySelector('p2p-call').sendMessage('ok')`);
    await a.waitForFunction(`window.recorded.some((e) => e.type === 'p2p-message' && e.detail.text === 'ok')`, { timeout: 15_000 });

    for (const page of [a, b]) {
      const found = await page.evaluate(`(() => {
        const root = document.querySelector('p2p-call').shadowRoot;
        // The element has <b>s and <i>s of its own (chat senders, the quality meter's bars): what
        // must not exist is an element made from the strings' markup, whatever its tag.
        const fromStrings = new Set(['bold A', 'bold B', 'bold', 'more']);
        const tags = (scope, selector) => [...scope.querySelectorAll(selector)]
          .filter((node) => ['img', 'script'].includes(node.localName) || fromStrings.has(node.textContent)).map((node) => node.outerHTML);
        return { shadow: tags(root, 'img, b, i, script'), light: tags(document, 'img, b, i'), pwned: typeof window.__pwned };
      })()`);
      assert.deepEqual(found, { shadow: [], light: [], pwned: 'undefined' }, 'no element made from the strings, no handler ran');
    }
    // The names also reach the host page's events unchanged.
    const joinAtB = (await recorded(b)).find((e) => e.type === 'p2p-remote-media-change' && e.detail['displayName'] !== undefined);
    assert.equal(joinAtB?.detail['displayName'], nameA);
  });
});
