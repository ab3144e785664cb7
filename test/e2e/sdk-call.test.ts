/**
 * The SDK in two real browser tabs, loaded from the built package as an npm user would:
 * a reload mid-call resumes the same seat and reconnects; a denied camera is a typed,
 * non-fatal error and the call goes on receive-only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { createSignalingServer, type SignalingServer } from '../../server/index.js';
import { launchChromium, startStaticServer } from './browser.js';

let browser: Browser;
let pages: { url: string; close(): Promise<void> };
let signaling: SignalingServer;
let wsUrl: string;

before(async () => {
  signaling = createSignalingServer({ port: 0, logLevel: 'silent' });
  wsUrl = `${(await signaling.listen()).replace('http', 'ws')}/ws`;
  pages = await startStaticServer();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await pages?.close();
  await signaling?.close();
});

async function openCall(target: Browser, room: string): Promise<Page> {
  const page = await target.newPage();
  await page.goto(`${pages.url}/test/e2e/pages/sdk-call.html?server=${encodeURIComponent(wsUrl)}&room=${room}`);
  return page;
}

/**
 * Resolves when the page's call reaches `expected`, listening to its state events (a
 * background tab gets no animation frames, so polling by frame would stall there).
 */
const state = (page: Page, expected: string, timeout = 15_000) =>
  page.evaluate((s, ms) => new Promise<void>((resolve, reject) => {
    const call = (window as unknown as { call: { state: string; on(e: string, f: (x: { state: string }) => void): () => void } }).call;
    if (call.state === s) return resolve();
    const timer = setTimeout(() => reject(new Error(`state stayed ${call.state}, wanted ${s}`)), ms);
    const off = call.on('state', ({ state: now }) => {
      if (now !== s) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  }), expected, timeout);

/** Brings the tab to the front (video frames are presented only there) and waits for new frames. */
async function framesAdvance(page: Page): Promise<void> {
  await page.bringToFront();
  await page.evaluate(() => (window as unknown as { framesAdvance(): Promise<boolean> }).framesAdvance());
}

describe('SDK in two browser tabs', () => {
  test('a reload of one tab mid-call resumes its seat and is connected again within 10 s', async () => {
    const room = `reload-${Date.now()}`;
    const a = await openCall(browser, room);
    const b = await openCall(browser, room);
    await Promise.all([state(a, 'connected'), state(b, 'connected')]);
    const seat = await a.evaluate(() => (window as unknown as { call: { peerId: string } }).call.peerId);

    const started = Date.now();
    await a.reload();
    await state(a, 'connected', 10_000);
    await state(b, 'connected', 10_000);
    const took = Date.now() - started;
    assert.ok(took < 10_000, `reconnected in ${took} ms`);
    assert.equal(await a.evaluate(() => (window as unknown as { call: { peerId: string } }).call.peerId), seat, 'same seat, no room-full');
    await framesAdvance(a);
    await framesAdvance(b);
    const logB = await b.evaluate(() => (window as unknown as { callLog: string[] }).callLog);
    assert.ok(!logB.some((entry) => entry.startsWith('error:')), `no errors on the other side: ${logB.join(' ')}`);
    await a.evaluate(() => (window as unknown as { call: { hangup(): void } }).call.hangup());
    await Promise.all([a.close(), b.close()]);
  });

  test('a denied camera and microphone give media-denied (not fatal) and the call goes on receive-only', async () => {
    const denying = await launchChromium({ fakeUi: false });
    try {
      await denying.defaultBrowserContext().overridePermissions(pages.url, []);
      const room = `denied-${Date.now()}`;
      const a = await openCall(denying, room);
      const b = await openCall(browser, room);
      await state(a, 'connected');
      const log = await a.evaluate(() => (window as unknown as { callLog: string[] }).callLog);
      assert.ok(log.includes('error:media-denied'), log.join(' '));
      // Receive-only: the denied side still sees the other's video.
      await framesAdvance(a);
      await b.close();
    } finally {
      await denying.close();
    }
  });
});
