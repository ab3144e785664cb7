/**
 * The deployment without nginx: the CLI serving HTTPS and WSS itself (`--tls-cert`/`--tls-key`).
 * Two demo pages call each other over https/wss, /healthz answers over https, and SIGTERM (the
 * unit's KillSignal) ends it with exit code 0 well within the unit's TimeoutStopSec.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { launchChromium } from '../e2e/browser.js';
import { twoPageCall } from './demo-call.js';
import { Workspace, deployFile, get, makeCertificate, openSocket, startProcess, type Certificate, type ManagedProcess } from './helpers.js';

let ws: Workspace;
let cert: Certificate;
let server: ManagedProcess;
let origin: string;
let browser: Browser | undefined;

before(async () => {
  ws = new Workspace('server-tls');
  cert = makeCertificate(ws);
  server = startProcess(process.execPath, ['dist/server/cli.js', '--tls-cert', cert.cert, '--tls-key', cert.key, '--port', '0', '--host', '127.0.0.1']);
  origin = (await server.waitForOutput(/"url":"(https:\/\/127\.0\.0\.1:\d+)"/))[1] as string;
  browser = await launchChromium({ extraArgs: ['--ignore-certificate-errors'] });
});

after(async () => {
  await browser?.close();
  await server?.stop('SIGKILL');
  ws?.remove();
});

describe('the server with its own TLS (--tls-cert, --tls-key)', () => {
  test('/healthz over https, verified against the certificate', async () => {
    const health = await get(`${origin}/healthz`, { ca: cert.pem });
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { ok: true, protocols: ['p2p-call.v1'] });
  });

  test('two demo pages call each other over https and wss', async () => {
    assert.ok(browser);
    const url = `${origin}/r/own-tls-${Date.now()}`;
    await twoPageCall(browser, url, ['method', 'button'], async (a) => {
      assert.equal(await a.evaluate(() => location.protocol), 'https:');
    });
  });

  test("SIGTERM closes sockets with 1001 and exits 0 within the unit's TimeoutStopSec", async () => {
    const timeoutStop = Number(/^TimeoutStopSec=(\d+)s?$/m.exec(deployFile('p2p-call.service'))?.[1]);
    assert.ok(timeoutStop > 0, 'TimeoutStopSec in deploy/p2p-call.service');
    assert.match(deployFile('p2p-call.service'), /^KillSignal=SIGTERM$/m);
    const client = await openSocket(`${origin.replace('https', 'wss')}/ws`, { ca: cert.pem });
    assert.ok(client.socket, `upgrade refused: ${client.status}`);
    const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
    const started = Date.now();
    server.child.kill('SIGTERM');
    const { code } = await server.exited;
    const took = Date.now() - started;
    assert.equal(code, 0);
    assert.ok(took < timeoutStop * 1000, `stopped in ${took} ms`);
    assert.equal(await closed, 1001);
  });
});
