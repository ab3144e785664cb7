/**
 * Secrets stay secret: join tokens, the token and TURN secrets, minted TURN credentials and
 * resume values never appear in the logs (at the most verbose level), in error frames, in
 * `/metrics`, or in the script-tag bundles.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { capturingLogger, harness, httpGet } from './helpers.js';

const TOKEN_SECRET = 'token-secret-do-not-leak-0123456789';
const TURN_SECRET = 'turn-secret-do-not-leak-0123456789';
const METRICS_TOKEN = 'metrics-token-do-not-leak-0123456789';

test('no secret, token, credential or resume value in logs, error frames or /metrics', async (t) => {
  const { logger, lines } = capturingLogger('trace');
  const h = await harness(t, {
    logger,
    tokenSecret: TOKEN_SECRET,
    turnSecret: TURN_SECRET,
    turnUrls: ['turn:turn.example.com:3478'],
    metricsToken: METRICS_TOKEN,
  });
  const token = await new SignJWT({ room: 'room' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(TOKEN_SECRET));
  const forged = await new SignJWT({ room: 'room' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode('another-secret-0123456789abcdef'));

  const [a, b] = await h.pair({ token });
  const credential = a.joined.iceServers.find((server) => server.credential !== undefined)?.credential;
  assert.ok(credential, 'a TURN credential was minted');
  b.client.drop();
  await a.client.next('peer-disconnected');
  const back = await h.connect();
  const resumed = await back.join('room', { resume: b.joined.resume });
  const intruder = await h.connect();
  intruder.send({ type: 'join', room: 'room', token: forged });
  const refusal = await intruder.nextError('unauthorized');
  intruder.send({ type: 'join', room: 'room', resume: a.joined.resume.slice(0, -2) + 'xx' });
  const badResume = await intruder.nextError('invalid-resume');
  const metrics = await httpGet(`${h.httpUrl}/metrics`, { Authorization: `Bearer ${METRICS_TOKEN}` });

  const secrets = [TOKEN_SECRET, TURN_SECRET, METRICS_TOKEN, token, forged, credential, a.joined.resume, b.joined.resume, resumed.resume];
  const places = {
    log: lines.join(''),
    'error frames': JSON.stringify([refusal, badResume]),
    '/metrics': metrics.body,
  };
  for (const [place, text] of Object.entries(places)) {
    for (const secret of secrets) assert.ok(!text.includes(secret), `${place} contains a secret (${secret.slice(0, 6)}…)`);
  }
  assert.ok(lines.length > 5, 'the log was written');
});

test('the script-tag bundles carry no secret or server configuration', () => {
  for (const name of ['p2p-call.js', 'p2p-call.iife.js']) {
    const bundle = readFileSync(fileURLToPath(new URL(`../../dist/${name}`, import.meta.url)), 'utf8');
    for (const needle of ['P2P_TOKEN_SECRET', 'P2P_TURN_SECRET', 'static-auth-secret', 'tokenSecret', 'turnSecret', 'metricsToken', 'redis://']) {
      assert.ok(!bundle.includes(needle), `${name} mentions ${needle}`);
    }
  }
});
