/**
 * Page-side waits on a `<p2p-call>` element, shared by every browser suite (e2e, turn, nat,
 * deploy). Written as page source text: the tests' TypeScript transform (tsx) wraps named
 * functions in a `__name` helper the page does not have, so functions passed to
 * `page.evaluate` must not declare any; text avoids the question altogether.
 */
import type { Frame, Page } from 'puppeteer-core';

/**
 * Waits for `frames` new frames decoded on the element's remote <video part="remote-video">.
 * Brings the tab to the front first: only the front tab presents video frames. Given a frame
 * (an iframe the element lives in), waits there and brings its page to the front.
 */
export async function remoteFramesAdvance(page: Page | Frame, frames = 3): Promise<void> {
  await ('bringToFront' in page ? page : page.page()).bringToFront();
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

/**
 * Resolves when the page's `<p2p-call>` is in `wanted`: at once if it already is, else on its
 * `p2p-state-change` event (event-driven, since a background tab gets no animation frames).
 * Rejects after `timeoutMs` with "state stayed <state>, wanted <wanted>", followed by the value
 * of the page-side expression `diagnostics` if one is given.
 */
export function waitForElementState(page: Page | Frame, wanted: string, timeoutMs = 15_000, diagnostics?: string): Promise<void> {
  const state = JSON.stringify(wanted);
  const more = diagnostics === undefined ? '' : ` + (${diagnostics})`;
  return page.evaluate(`new Promise((resolve, reject) => {
    const el = document.querySelector('p2p-call');
    if (el.state === ${state}) return resolve();
    const timer = setTimeout(() => reject(new Error('state stayed ' + el.state + ', wanted ' + ${state}${more})), ${timeoutMs});
    el.addEventListener('p2p-state-change', (e) => {
      if (e.detail.state !== ${state}) return;
      clearTimeout(timer);
      resolve();
    });
  })`) as Promise<void>;
}
