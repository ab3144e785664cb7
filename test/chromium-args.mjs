// The Chromium every browser test runs (Debian's, never a downloaded one) and the switches it
// runs with, in one place for both runners: puppeteer-core in test/e2e/browser.ts (node:test
// suites) and @web/test-runner (web-test-runner.config.mjs). Plain JS so the runner's config
// can import it; types in chromium-args.d.mts.

/** The Chromium binary: $CHROMIUM_PATH, else Debian's /usr/bin/chromium. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Auto-accepts camera/microphone prompts; left out to test a denial. */
export const FAKE_UI_ARG = '--use-fake-ui-for-media-stream';

/** Headless, no sandbox, fake camera and microphone, no background traffic, WebRTC on loopback. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  FAKE_UI_ARG,
  // Three fake cameras (I420, Y16 depth, MJPEG) besides Chromium's two fake microphones, so
  // device switches switch for real (test/sdk/call-media.test.ts).
  '--use-fake-device-for-media-stream=device-count=3',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--no-default-browser-check',
  '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

/**
 * CHROMIUM_ARGS, without FAKE_UI_ARG when `fakeUi` is false (so a media prompt is denied).
 * @param {{ fakeUi?: boolean }} [options]
 * @returns {string[]}
 */
export function chromiumArgs({ fakeUi = true } = {}) {
  return fakeUi ? [...CHROMIUM_ARGS] : CHROMIUM_ARGS.filter((arg) => arg !== FAKE_UI_ARG);
}
