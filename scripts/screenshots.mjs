#!/usr/bin/env node
// npm run screenshots: every state of <p2p-call> full-page at 1280×800, 390×844 and 360×640,
// the lobby and the call in a 400×300 box and a 300 px column of a 1280×800 page, and the demo
// page at 1280×620 and 375×553, in headless Chromium with fake devices, against a real server
// built from this checkout. Writes docs/screenshots/<state>-<size>.png. Run `npm run build` first.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import puppeteer from 'puppeteer-core';
import { WebSocketServer } from 'ws';
import { createSignalingServer } from '../dist/server/index.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/chromium-args.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'docs/screenshots');
/** Full-page sizes: every state. */
const SIZES = [[1280, 800], [390, 844], [360, 640]];
/** Boxes of a host page (1280×800): the lobby and the call must fit them too. */
const BOXES = [
  { name: 'box400x300', style: 'width:400px;height:300px;margin:24px' },
  { name: 'column300', style: 'width:300px;margin:24px' },
];
const ARGS = [...CHROMIUM_ARGS, '--hide-scrollbars', '--force-prefers-reduced-motion'];

const scratch = mkdtempSync(join(tmpdir(), 'p2p-call-shot-pages-'));
writeFileSync(join(scratch, 'shot.css'), 'html,body{margin:0;height:100%;background:#0b1120}body>p2p-call{position:fixed;inset:0;--p2p-call-radius:0}.box{background:#334155}');
const server = createSignalingServer({ port: 0, logLevel: 'silent', staticDir: scratch });
const origin = await server.listen();
const wsUrl = `${origin.replace('http', 'ws')}/ws`;
// The demo as `npm start` serves it.
const demoServer = createSignalingServer({ port: 0, logLevel: 'silent' });
const demoOrigin = await demoServer.listen();

// A server that accepts the socket and never seats anyone: the element stays "joining".
const silentHttp = createServer();
new WebSocketServer({ server: silentHttp, handleProtocols: () => 'p2p-call.v1' });
await new Promise((done) => silentHttp.listen(0, '127.0.0.1', done));
const silentUrl = `ws://127.0.0.1:${silentHttp.address().port}/ws`;

const profile = mkdtempSync(join(tmpdir(), 'p2p-call-shots-'));
process.once('exit', () => rmSync(profile, { recursive: true, force: true }));
const browser = await puppeteer.launch({
  executablePath: CHROMIUM_PATH,
  headless: true,
  pipe: true,
  args: [...ARGS, `--user-data-dir=${profile}`],
});

let roomCounter = 0;
const room = () => `shot-${Date.now().toString(36)}-${roomCounter++}`;

/**
 * A page on the server's origin (a secure context) holding one element with `attributes`.
 * The page is a real file the server serves from a scratch directory: Chromium's local
 * network access checks refuse sockets to 127.0.0.1 from pages it did not load from there.
 */
let pageCounter = 0;
async function open([width, height], attributes, box) {
  const page = await browser.newPage();
  await page.setViewport({ width, height });
  const attrs = Object.entries(attributes).map(([k, v]) => (v === true ? k : `${k}="${v}"`)).join(' ');
  const name = `shot-${pageCounter++}.html`;
  const element = `<p2p-call ${attrs}></p2p-call>`;
  writeFileSync(join(scratch, name), `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width">
    <link rel="stylesheet" href="/shot.css"><script type="module" src="/p2p-call.js"></script></head>
    <body>${box ? `<div class="box" style="${box}">${element}</div>` : element}</body></html>`);
  await page.goto(`${origin}/${name}`);
  await page.waitForFunction(() => customElements.get('p2p-call') !== undefined);
  await page.bringToFront();
  return page;
}

async function state(page, wanted, timeout = 20_000) {
  try {
    await page.waitForFunction((s) => document.querySelector('p2p-call').state === s, { timeout, polling: 100 }, wanted);
  } catch (error) {
    const now = await page.evaluate(() => { const el = document.querySelector('p2p-call'); return el.state + ' ' + el.shadowRoot.textContent.replace(/\s+/g, ' ').slice(0, 300); });
    throw new Error(`wanted state ${wanted}, still ${now}`, { cause: error });
  }
}

async function shot(page, name, size) {
  await page.bringToFront();
  // Let the last frame paint (videos show frames, transitions settle).
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const file = join(OUT, `${name}-${typeof size === 'string' ? size : size.join('x')}.png`);
  await page.screenshot({ path: file });
  console.log(`wrote ${file}`);
}

async function connectedPair(size, extra = {}, box = undefined) {
  const r = room();
  const a = await open(size, { room: r, server: wsUrl, autojoin: true, 'display-name': 'Ada', ...extra }, box);
  await state(a, 'waiting');
  const b = await open(size, { room: r, server: wsUrl, autojoin: true, 'display-name': 'Bo', ...extra });
  await Promise.all([state(a, 'connected'), state(b, 'connected')]);
  // Wait for the remote video to show frames before the picture.
  await a.bringToFront();
  await a.waitForFunction(() => {
    const v = document.querySelector('p2p-call').shadowRoot.querySelector('video[part="remote-video"]');
    return !v || v.hidden || v.readyState >= 2;
  }, { polling: 100 });
  return { a, b, room: r };
}

mkdirSync(OUT, { recursive: true });
try {
  for (const size of SIZES) {
    const pages = [];
    const idle = await open(size, {});
    pages.push(idle);
    await shot(idle, 'idle', size);

    const lobby = await open(size, { room: room(), 'display-name': 'Ada' });
    pages.push(lobby);
    await lobby.waitForFunction(() => {
      const v = document.querySelector('p2p-call').shadowRoot.querySelector('video[part="local-video"]');
      return v && v.readyState >= 2;
    }, { polling: 100 });
    await shot(lobby, 'preview', size);

    const lobbyOff = await open(size, { room: room(), 'display-name': 'Ada', 'camera-off': true, muted: true });
    pages.push(lobbyOff);
    await lobbyOff.waitForFunction(() => document.querySelector('p2p-call').shadowRoot.querySelector('.lobby-preview .avatar') !== null, { polling: 100 });
    await shot(lobbyOff, 'preview-camera-off', size);

    const joining = await open(size, { room: room(), server: silentUrl, autojoin: true });
    pages.push(joining);
    await state(joining, 'joining');
    await shot(joining, 'joining', size);

    const waiting = await open(size, { room: room(), server: wsUrl, autojoin: true });
    pages.push(waiting);
    await state(waiting, 'waiting');
    await shot(waiting, 'waiting', size);

    // Relay-only with no TURN server: ICE never completes, so "connecting" holds still.
    const stuck = room();
    const c1 = await open(size, { room: stuck, server: wsUrl, autojoin: true, 'ice-transport-policy': 'relay' });
    const c2 = await open(size, { room: stuck, server: wsUrl, autojoin: true, 'ice-transport-policy': 'relay' });
    pages.push(c1, c2);
    await state(c1, 'connecting');
    await shot(c1, 'connecting', size);

    const { a, b, room: full } = await connectedPair(size);
    await shot(a, 'connected', size);

    const chatButton = (page) => page.evaluate(() => document.querySelector('p2p-call').shadowRoot.querySelector('[part~="chat-button"]').click());
    await chatButton(a);
    await a.waitForFunction(() => document.querySelector('p2p-call').shadowRoot.querySelector('.chat-empty') !== null, { polling: 100 });
    await shot(a, 'chat-empty', size);
    await a.evaluate(() => document.querySelector('p2p-call').sendMessage('Hi Bo! Can you see my screen?'));
    await b.evaluate(() => document.querySelector('p2p-call').sendMessage('Yes, loud and clear.'));
    await a.waitForFunction(() => document.querySelector('p2p-call').shadowRoot.querySelector('.chat-log li.them') !== null, { polling: 100 });
    await shot(a, 'chat', size);
    await chatButton(a);
    await b.evaluate(() => document.querySelector('p2p-call').sendMessage('One more thing…'));
    await a.waitForFunction(() => document.querySelector('p2p-call').shadowRoot.querySelector('[part="toast"]') !== null, { polling: 100 });
    await shot(a, 'toast', size);

    await a.evaluate(() => document.querySelector('p2p-call').shadowRoot.querySelector('[part~="devices-button"]').click());
    await a.waitForFunction(() => document.querySelector('p2p-call').shadowRoot.querySelector('.devices select') !== null, { polling: 100 });
    await shot(a, 'devices', size);
    await a.evaluate(() => document.querySelector('p2p-call').shadowRoot.querySelector('[part~="devices-button"]').click());

    await a.evaluate(async () => {
      const el = document.querySelector('p2p-call');
      await el.setCamera(false);
      await el.setMicrophone(false);
    });
    await a.waitForFunction(() => document.querySelector('p2p-call').shadowRoot.querySelector('[part="self-tile"]') !== null, { polling: 100 });
    await shot(a, 'camera-off', size);
    await a.evaluate(async () => {
      const el = document.querySelector('p2p-call');
      await el.setCamera(true);
      await el.setMicrophone(true);
    });

    const third = await open(size, { room: full, server: wsUrl, autojoin: true });
    await state(third, 'error');
    await shot(third, 'error-room-full', size);
    await third.close();

    // The other side vanishes without hanging up: media stops, the call shows reconnecting.
    await b.close();
    await state(a, 'reconnecting');
    await shot(a, 'reconnecting', size);
    await a.evaluate(() => document.querySelector('p2p-call').hangup());
    await state(a, 'ended');
    await shot(a, 'ended', size);
    await a.close();

    const unreachable = await open(size, { room: room(), server: 'ws://127.0.0.1:9/ws', autojoin: true });
    pages.push(unreachable);
    await state(unreachable, 'error');
    await shot(unreachable, 'error-unreachable', size);

    const audio = await connectedPair(size, { 'audio-only': true });
    await shot(audio.a, 'audio-only', size);
    pages.push(audio.a, audio.b);

    for (const page of pages) await page.evaluate(() => document.querySelector('p2p-call')?.hangup()).catch(() => {});
    for (const page of pages) await page.close().catch(() => {});
  }

  // A host page's boxes: the lobby, the invite and the call must fit them.
  for (const { name, style } of BOXES) {
    const size = [1280, 800];
    const lobby = await open(size, { room: room(), 'display-name': 'Ada' }, style);
    await lobby.waitForFunction(() => document.querySelector('p2p-call').shadowRoot.querySelector('video[part="local-video"]')?.readyState >= 2, { polling: 100 });
    await shot(lobby, 'preview', name);
    await lobby.close();
    const waiting = await open(size, { room: room(), server: wsUrl, autojoin: true }, style);
    await state(waiting, 'waiting');
    await shot(waiting, 'waiting', name);
    await waiting.evaluate(() => document.querySelector('p2p-call').hangup());
    await waiting.close();
    const pair = await connectedPair(size, {}, style);
    await shot(pair.a, 'connected', name);
    await pair.a.evaluate(() => document.querySelector('p2p-call').hangup());
    await pair.a.close();
    await pair.b.close();
  }

  // In a cross-origin frame without allow=: the site owner is told what to add.
  {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    writeFileSync(join(scratch, 'framed.html'), `<!doctype html><html lang="en"><head><link rel="stylesheet" href="/shot.css">
      <script type="module" src="/p2p-call.js"></script></head><body><p2p-call room="${room()}"></p2p-call></body></html>`);
    const localhost = origin.replace('127.0.0.1', 'localhost');
    writeFileSync(join(scratch, 'host.html'), `<!doctype html><html lang="en"><body style="margin:0;background:#e2e8f0;font:16px system-ui">
      <p style="margin:16px">A host page on another origin, framing the call without allow=…</p>
      <iframe src="${origin}/framed.html" style="width:880px;height:560px;border:0;margin:0 16px"></iframe></body></html>`);
    await page.goto(`${localhost}/host.html`);
    const frame = await (await page.waitForSelector('iframe')).contentFrame();
    await frame.waitForFunction(() => document.querySelector('p2p-call')?.shadowRoot?.querySelector('.notice') !== null, { polling: 100 });
    await shot(page, 'iframe-blocked', [1280, 800]);
    await page.close();
  }

  // The demo page, as a visitor sees it.
  for (const size of [[1280, 620], [375, 553]]) {
    const page = await browser.newPage();
    await page.setViewport({ width: size[0], height: size[1] });
    await page.goto(`${demoOrigin}/`);
    await shot(page, 'demo-landing', size);
    await page.goto(`${demoOrigin}/r/${room()}`);
    await page.waitForFunction(() => document.querySelector('p2p-call')?.shadowRoot?.querySelector('video[part="local-video"]')?.readyState >= 2, { polling: 100 });
    await shot(page, 'demo-lobby', size);
    await page.close();
  }

  // The dark color scheme, once, at the large size.
  const size = SIZES[0];
  const dark = await connectedPair(size);
  for (const page of [dark.a, dark.b]) await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
  await dark.a.evaluate(() => document.querySelector('p2p-call').shadowRoot.querySelector('button[part~="chat-button"]').click());
  await shot(dark.a, 'connected-dark', size);
  for (const page of [dark.a, dark.b]) await page.close();
} finally {
  await browser.close();
  await server.close();
  await demoServer.close();
  silentHttp.close();
  rmSync(scratch, { recursive: true, force: true });
}
