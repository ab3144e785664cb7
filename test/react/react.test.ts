/**
 * `p2p-call/react` rendered for real: the app in test/types/react-wrapper/app.tsx is bundled
 * with esbuild once against React 19 (the root's) and once against React 18 (the workspace in
 * test/react/react18), and the two pages call each other in Chromium through a real signaling
 * server. Checked: props reach the element as properties, events arrive as `on…` props, both
 * sides connect, and unmounting the React tree ends the call (the other side hears the leave).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import type { Browser, Page } from 'puppeteer-core';
import { createSignalingServer, type SignalingServer } from '../../server/index.js';
import { ROOT, launchChromium } from '../e2e/browser.js';

const REACT18 = join(ROOT, 'test/react/react18/node_modules');

/** The app bundled against one React: `react` and `react-dom` resolved from `modules`. */
async function bundle(modules: string | undefined): Promise<string> {
  const result = await build({
    entryPoints: [join(ROOT, 'test/types/react-wrapper/app.tsx')],
    bundle: true,
    write: false,
    format: 'esm',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    ...(modules === undefined ? {} : { alias: { react: join(modules, 'react'), 'react-dom': join(modules, 'react-dom') } }),
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}

/** Serves `/` (a page that loads `/<name>.js`) and the bundles, on 127.0.0.1 (a secure context). */
async function pageServer(bundles: Record<string, string>): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const name = /^\/(\w+)\.js$/.exec(req.url ?? '')?.[1];
    if (name !== undefined && bundles[name] !== undefined) {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundles[name]);
    } else {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><div id="root"></div>');
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

interface Report {
  react: string;
  states: string[];
  peers: string[];
  left: string[];
  errors: string[];
}

describe('p2p-call/react with React 18 and 19 in Chromium', () => {
  let browser: Browser;
  let signaling: SignalingServer;
  let wsUrl: string;
  let pages: { url: string; server: Server };

  before(async () => {
    const [react19, react18] = await Promise.all([bundle(undefined), bundle(REACT18)]);
    pages = await pageServer({ react19, react18 });
    signaling = createSignalingServer({ port: 0, host: '127.0.0.1', logLevel: 'silent' });
    wsUrl = `${(await signaling.listen()).replace(/^http/, 'ws')}/ws`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await signaling?.close();
    pages?.server.closeAllConnections();
    pages?.server.close();
  });

  async function open(bundleName: string, room: string, name: string): Promise<Page> {
    const page = await browser.newPage();
    const problems: string[] = [];
    diagnostics.set(page, problems);
    page.on('pageerror', (error) => problems.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warn') problems.push(message.text());
    });
    await page.goto(pages.url);
    await page.evaluate((params) => {
      (window as unknown as { params: typeof params }).params = params;
    }, { server: wsUrl, room, name });
    await page.addScriptTag({ url: `${pages.url}/${bundleName}.js`, type: 'module' });
    return page;
  }

  /** Page errors and console warnings per page, shown when a wait fails. */
  const diagnostics = new WeakMap<Page, string[]>();
  const report = (page: Page) => page.evaluate(() => (window as unknown as { report: Report | undefined }).report);
  async function waitFor(page: Page, predicate: string): Promise<void> {
    try {
      await page.waitForFunction(`(() => { const r = window.report; return r !== undefined && (${predicate}); })()`, { timeout: 20_000, polling: 50 }); // rAF polling stalls in a background tab
    } catch (error) {
      throw new Error(`${predicate}: ${String(error)}\nreport: ${JSON.stringify(await report(page))}\npage: ${(diagnostics.get(page) ?? []).join('\n')}`);
    }
  }

  test('a React 19 page and a React 18 page call each other; props and events go through the wrapper', async () => {
    const room = `react-${Date.now()}`;
    const nineteen = await open('react19', room, 'Nineteen');
    const eighteen = await open('react18', room, 'Eighteen');
    try {
      await waitFor(nineteen, "r.states.includes('connected')");
      await waitFor(eighteen, "r.states.includes('connected')");
      const [r19, r18] = [(await report(nineteen)) as Report, (await report(eighteen)) as Report];
      assert.match(r19.react, /^19\./);
      assert.match(r18.react, /^18\./);
      for (const r of [r19, r18]) {
        assert.deepEqual(r.errors, [], `React ${r.react}: no p2p-error`);
        assert.deepEqual(r.states.slice(0, 2), ['joining', r.states[1] === 'waiting' ? 'waiting' : 'connecting'], `React ${r.react}: ${r.states.join(' → ')}`);
      }
      // Properties, not attributes: the array arrives as an array, the name as the property.
      const element = await nineteen.$eval('p2p-call', (el) => {
        const call = el as HTMLElement & { room: string; displayName: string; iceServers: unknown; autojoin: boolean };
        return { room: call.room, displayName: call.displayName, iceServers: call.iceServers, autojoin: call.autojoin };
      });
      assert.deepEqual(element, { room, displayName: 'Nineteen', iceServers: [], autojoin: true });

      await waitFor(nineteen, "r.peers.length > 0");
      await waitFor(eighteen, "r.peers.length > 0");
      // Once per arrival of the other peer (its display name, or its id if not known yet).
      assert.equal((await report(nineteen))?.peers.length, 1);
      assert.equal((await report(eighteen))?.peers.length, 1);

      // Unmounting the React 18 tree removes the element: the call ends, the other side hears it.
      await eighteen.evaluate(() => (window as unknown as { unmount(): void }).unmount());
      await waitFor(nineteen, "r.left.includes('hangup') || r.left.includes('timeout')");
      assert.equal(await eighteen.$('p2p-call'), null);
    } finally {
      await nineteen.close();
      await eighteen.close();
    }
  });
});
