/**
 * Drives the demo page (`/r/<room>`) as a visitor does: the element shows its lobby, the
 * visitor presses its join button (or a script calls `join()`), and the call runs. Functions
 * passed to the page are written without named inner functions (the test transform would wrap
 * them in a helper the page does not have); longer page code is passed as source text.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'puppeteer-core';
import { remoteFramesAdvance, waitForElementState } from '../e2e/page-helpers.js';

export { remoteFramesAdvance };

interface Recorded {
  events: Array<{ type: string; detail: Record<string, unknown> }>;
}

/** Opens `url` (a demo room page) with a recorder of the element's events installed first. */
export async function openDemo(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.evaluateOnNewDocument(() => {
    const recorded = { events: [] as Array<{ type: string; detail: unknown }> };
    (window as unknown as { recorded: typeof recorded }).recorded = recorded;
    for (const type of ['p2p-state-change', 'p2p-error', 'p2p-stats']) {
      document.addEventListener(type, (event) => recorded.events.push({ type, detail: (event as CustomEvent).detail }));
    }
  });
  const response = await page.goto(url);
  if (response === null || response.status() >= 400) throw new Error(`GET ${url}: ${response?.status() ?? 'no response'}`);
  await page.evaluate(() => customElements.whenDefined('p2p-call'));
  return page;
}

/** Page source: the `p2p-error`s recorded so far, appended to a state wait's timeout error. */
const RECORDED_ERRORS = `'; errors: ' + JSON.stringify(window.recorded.events.filter((e) => e.type === 'p2p-error'))`;

/** Resolves when the page's <p2p-call> reaches `wanted` (listening to its state events). */
export function waitState(page: Page, wanted: string, timeout = 15_000): Promise<void> {
  return waitForElementState(page, wanted, timeout, RECORDED_ERRORS);
}

export type JoinHow = 'button' | 'method';

/** Waits for the lobby, then joins by pressing its button (as a visitor) or by `el.join()`. */
export async function joinCall(page: Page, how: JoinHow): Promise<void> {
  await waitState(page, 'preview');
  if (how === 'button') {
    await page.evaluate(() => {
      const button = document.querySelector('p2p-call')?.shadowRoot?.querySelector('[part~="join-button"]') as HTMLButtonElement | null;
      if (button === null) throw new Error('no [part~="join-button"] in the lobby');
      button.click();
    });
  } else {
    await page.evaluate(() => (document.querySelector('p2p-call') as HTMLElement & { join(): Promise<void> }).join());
  }
}

/** The first `p2p-stats` detail that names a candidate type (recorded or still to come). */
export function statsWithCandidate(page: Page, timeout = 10_000): Promise<Record<string, unknown>> {
  return page.evaluate((ms) => new Promise<Record<string, unknown>>((resolve, reject) => {
    const seen = (window as unknown as { recorded: Recorded }).recorded.events
      .find((e) => e.type === 'p2p-stats' && typeof e.detail['candidateType'] === 'string');
    if (seen !== undefined) return resolve(seen.detail);
    const timer = setTimeout(() => reject(new Error('no p2p-stats with a candidateType')), ms);
    document.addEventListener('p2p-stats', (event) => {
      const detail = (event as CustomEvent<Record<string, unknown>>).detail;
      if (typeof detail['candidateType'] !== 'string') return;
      clearTimeout(timer);
      resolve(detail);
    });
  }), timeout);
}

/** `p2p-error` details recorded on the page. */
export async function errorsOn(page: Page): Promise<Array<Record<string, unknown>>> {
  const recorded = await page.evaluate(() => (window as unknown as { recorded: Recorded }).recorded);
  return recorded.events.filter((e) => e.type === 'p2p-error').map((e) => e.detail);
}

/** Hangs up (closing the peer connection, so TURN allocations are released) and closes the pages. */
export async function hangUpAndClose(...pages: Page[]): Promise<void> {
  for (const page of pages) {
    if (page.isClosed()) continue;
    await page.evaluate(() => (document.querySelector('p2p-call') as (HTMLElement & { hangup(): void }) | null)?.hangup()).catch(() => {});
    await page.close().catch(() => {});
  }
}

/**
 * Two demo pages at `url` call each other: the first joins (`how[0]`) and waits, then the second
 * (`how[1]`); both connect, decode each other's video and record no `p2p-error`. `check` runs on
 * the live call; both pages hang up and close at the end, whether it passed or not.
 */
export async function twoPageCall(browser: Browser, url: string, how: [JoinHow, JoinHow], check: (a: Page, b: Page) => Promise<void>): Promise<void> {
  const a = await openDemo(browser, url);
  const b = await openDemo(browser, url);
  try {
    await joinCall(a, how[0]);
    await waitState(a, 'waiting');
    await joinCall(b, how[1]);
    await Promise.all([waitState(a, 'connected'), waitState(b, 'connected')]);
    await remoteFramesAdvance(a);
    await remoteFramesAdvance(b);
    assert.deepEqual(await errorsOn(a), []);
    assert.deepEqual(await errorsOn(b), []);
    await check(a, b);
  } finally {
    await hangUpAndClose(a, b);
  }
}
