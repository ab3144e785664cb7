// @web/test-runner: SDK and widget tests in Debian's real Chromium, headless, with fake media
// devices (switches shared with the e2e suites: test/chromium-args.mjs). A plugin starts real
// signaling servers on demand (test/browser-plugins.mjs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromeLauncher } from '@web/test-runner-chrome';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { signalingServerPlugin } from './test/browser-plugins.mjs';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/chromium-args.mjs';

// A fresh profile per run, removed when the runner exits (the browser has stopped by then).
const profile = mkdtempSync(join(tmpdir(), 'p2p-call-wtr-'));
process.once('exit', () => rmSync(profile, { recursive: true, force: true }));

export default {
  files: ['test/sdk/**/*.test.ts', 'test/widget/**/*.test.ts'],
  nodeResolve: true,
  concurrency: 1,
  browserStartTimeout: 60_000,
  testsFinishTimeout: 180_000,
  testFramework: { config: { timeout: 20_000 } },
  // The element loads a language with `import(`./lang/${tag}.js`)`: serve the .ts source.
  middleware: [
    (context, next) => {
      context.url = context.url.replace(/^(\/widget\/lang\/[A-Za-z-]+)\.js(\?|$)/, '$1.ts$2');
      return next();
    },
  ],
  plugins: [esbuildPlugin({ ts: true, target: 'es2022' }), signalingServerPlugin()],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: [...CHROMIUM_ARGS, `--user-data-dir=${profile}`],
      },
    }),
  ],
};
