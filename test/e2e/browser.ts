/**
 * Node-side plumbing for end-to-end tests: Debian's Chromium through puppeteer-core (never a
 * downloaded browser), a static file server for test pages and built bundles, and a real
 * signaling server, all on 127.0.0.1 with ports chosen at run time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { CHROMIUM_PATH, chromiumArgs } from '../chromium-args.mjs';

export const CHROMIUM = CHROMIUM_PATH;
export const ROOT = resolve(import.meta.dirname, '../..');

export interface LaunchOptions {
  /** Auto-accept camera/microphone prompts (default true); false to test a denial. */
  fakeUi?: boolean;

  extraArgs?: string[];
  /** Another Chromium binary or wrapper (e.g. one that runs it inside a network namespace). */
  executablePath?: string;
}

/** Launches headless Chromium with a fresh profile that is removed on close. */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'p2p-call-e2e-'));
  const browser = await puppeteer.launch({
    executablePath: options.executablePath ?? CHROMIUM,
    headless: true,
    pipe: true,
    args: [
      ...chromiumArgs({ fakeUi: options.fakeUi !== false }),
      ...(options.extraArgs ?? []),
      `--user-data-dir=${profile}`,
    ],
  });
  // Remove the profile once the browser process has exited (on 'disconnected' it may still be
  // writing to it).
  const remove = () => rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  const child = browser.process();
  if (child && child.exitCode === null) child.once('exit', remove);
  else browser.once('disconnected', remove);
  return browser;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.css': 'text/css',
};

/** Serves files below the repository root (read-only, no directory listing) on a free port. */
export async function startStaticServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(ROOT, path);
    if (!file.startsWith(ROOT)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}
