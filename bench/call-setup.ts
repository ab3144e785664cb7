/**
 * Join → first decoded remote frame in Debian's Chromium: a call through the built SDK and a
 * real signaling server (the second side's join() to its first presented remote frame),
 * against two bare RTCPeerConnections in one page that exchange descriptions directly — the
 * floor on this machine. Both include getUserMedia on Chromium's fake devices.
 */
import type { Browser, Page } from 'puppeteer-core';
import { createSignalingServer } from '../server/index.js';
import { launchChromium, startStaticServer } from '../test/e2e/browser.js';
import type { Comparison } from './stats.js';

interface BenchWindow {
  join(): Promise<void>;
  joinToFirstFrame(): Promise<number>;
  waiting(): Promise<void>;
  call: { hangup(): void };
}

async function throughSdk(browser: Browser, pages: string, server: string, round: number): Promise<number> {
  const url = `${pages}/bench/pages/call.html?server=${encodeURIComponent(server)}&room=bench-${round}-${Date.now()}`;
  const first = await browser.newPage();
  const second = await browser.newPage();
  try {
    await first.goto(url);
    await second.goto(url);
    await first.evaluate(() => (window as unknown as BenchWindow).join());
    await first.evaluate(() => (window as unknown as BenchWindow).waiting());
    // Frames are presented only in the front tab.
    await second.bringToFront();
    return await second.evaluate(() => (window as unknown as BenchWindow).joinToFirstFrame());
  } finally {
    await hangUp(first, second);
  }
}

async function hangUp(...pages: Page[]): Promise<void> {
  for (const page of pages) {
    await page.evaluate(() => (window as unknown as BenchWindow).call.hangup()).catch(() => undefined);
    await page.close();
  }
}

async function bare(browser: Browser, pages: string): Promise<number> {
  const page = await browser.newPage();
  try {
    await page.goto(`${pages}/bench/pages/bare-call.html`);
    await page.bringToFront();
    return await page.evaluate(() => (window as unknown as BenchWindow).joinToFirstFrame());
  } finally {
    await page.close();
  }
}

export async function callSetup(rounds: number): Promise<Comparison> {
  const server = createSignalingServer({ port: 0, host: '127.0.0.1', logLevel: 'silent' });
  const ws = `${(await server.listen()).replace('http', 'ws')}/ws`;
  const pages = await startStaticServer();
  const browser = await launchChromium();
  const comparison: Comparison = {
    what: 'join → first remote frame (Chromium, fake devices, loopback)',
    unit: 'ms',
    candidate: { name: 'p2p-call SDK + server', values: [] },
    baseline: { name: 'bare RTCPeerConnection pair', values: [] },
    ratioMeans: 'p2p-call takes longer',
  };
  try {
    await throughSdk(browser, pages.url, ws, -1); // warm-up of both
    await bare(browser, pages.url);
    for (let round = 0; round < rounds; round++) {
      comparison.candidate.values.push(await throughSdk(browser, pages.url, ws, round));
      comparison.baseline.values.push(await bare(browser, pages.url));
    }
  } finally {
    await browser.close();
    await pages.close();
    await server.close();
  }
  return comparison;
}
