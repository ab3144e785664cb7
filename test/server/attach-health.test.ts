/** An app that attaches the server to its own HTTP server can answer /healthz with one call. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createSignalingServer, handleHealthCheck } from '../../server/index.js';

test('handleHealthCheck answers /healthz on a host app and leaves other paths to it', async (t) => {
  const app = createServer((req, res) => handleHealthCheck(req, res) || res.end('host app'));
  const signaling = createSignalingServer({ server: app, logLevel: 'silent' });
  await new Promise<void>((done) => app.listen(0, '127.0.0.1', done));
  t.after(async () => {
    await signaling.close();
    await new Promise<void>((done) => app.close(() => done()));
  });
  const base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(health.headers.get('access-control-allow-origin'), '*');
  assert.deepEqual(await health.json(), { ok: true, protocols: ['p2p-call.v1'] });
  assert.equal(await (await fetch(`${base}/other`)).text(), 'host app');
  assert.equal(await (await fetch(`${base}/healthz`, { method: 'POST' })).text(), 'host app');
});
