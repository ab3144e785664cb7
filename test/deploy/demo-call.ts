/**
 * Drives the demo page (`/r/<room>`) as a visitor does: the element shows its lobby, the
 * visitor presses its join button (or a script calls `join()`), and the call runs. Functions
 * passed to the page are written without named inner functions (the test transform would wrap
 * them in a helper the page does not have); longer page code is passed as source text.
 */
import type { Browser, Page } from 'puppeteer-core';

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

/** Resolves when the page's <p2p-call> reaches `wanted` (listening to its state events). */
export function waitState(page: Page, wanted: string, timeout = 15_000): Promise<void> {
  return page.evaluate((s, ms) => new Promise<void>((resolve, reject) => {
    const el = document.querySelector('p2p-call') as HTMLElement & { state: string };
    if (el.state === s) return resolve();
    const timer = setTimeout(() => {
      const errors = (window as unknown as { recorded: Recorded }).recorded.events.filter((e) => e.type === 'p2p-error');
      reject(new Error(`state stayed ${el.state}, wanted ${s}; errors: ${JSON.stringify(errors)}`));
    }, ms);
    el.addEventListener('p2p-state-change', (event) => {
      if ((event as CustomEvent<{ state: string }>).detail.state !== s) return;
      clearTimeout(timer);
      resolve();
    });
  }), wanted, timeout);
}

/** Waits for the lobby, then joins by pressing its button (as a visitor) or by `el.join()`. */
export async function joinCall(page: Page, how: 'button' | 'method'): Promise<void> {
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

/** Waits for `frames` new frames on the element's remote video (the page must be in front). */
export async function remoteFramesAdvance(page: Page, frames = 3): Promise<void> {
  await page.bringToFront();
  await page.evaluate(`new Promise((resolve, reject) => {
    const video = document.querySelector('p2p-call').shadowRoot.querySelector('video[part="remote-video"]');
    const timer = setTimeout(() => reject(new Error('remote video frames did not advance')), 10000);
    let first;
    const tick = (now, meta) => {
      first ??= meta.presentedFrames;
      if (meta.presentedFrames - first >= ${frames}) { clearTimeout(timer); resolve(); }
      else video.requestVideoFrameCallback(tick);
    };
    video.requestVideoFrameCallback(tick);
  })`);
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
