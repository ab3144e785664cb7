/**
 * Calls through a real coturn: two Chromium pages, each a host page that loads `<p2p-call>` with
 * a script tag from the signaling server, started in-process with `turnSecret` + `turnUrls`
 * pointing at the test's coturn. Relay-only calls connect over UDP and over TCP to the TURN
 * server; a wrong shared secret and an expired host-provided credential both end in `ice-failed`
 * in bounded time. Over the life of a call: after a TURN restart the SDK's ICE restart
 * re-allocates and the call comes back; a call keeps its relay after its credential expired
 * (coturn checks the REST timestamp only when an allocation is created), but a relay lost
 * after expiry cannot be rebuilt with that credential. See docs/turn.md.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { createSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../server/index.js';
import { launchChromium } from '../e2e/browser.js';
import { remoteFramesAdvance, waitForElementState as state } from '../e2e/page-helpers.js';
import { startCoturn, type Coturn } from './coturn.js';
import { TurnSession, errorCode, restCredential } from './stun.js';

const SECRET = 'coturn-test-secret-0123456789';
const ICE_TIMEOUT_MS = 4000;
/** How late `ice-failed` may come after its timer should fire, on a busy 2-core machine. */
const ICE_FAILED_MARGIN_MS = 3000;
/** New frames each side's remote video must decode to count as flowing. */
const REMOTE_FRAMES = 5;

let browser: Browser;
let turn: Coturn;
let host: Server;
let hostOrigin: string;
const hostPages = new Map<string, string>();
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  // Both at once, but keep whichever started so that `after` stops it if the other failed.
  const [started, launched] = await Promise.allSettled([startCoturn({ secret: SECRET }), launchChromium()]);
  if (started.status === 'fulfilled') turn = started.value;
  if (launched.status === 'fulfilled') browser = launched.value;
  if (started.status === 'rejected') throw started.reason;
  if (launched.status === 'rejected') throw launched.reason;
  host = createServer((req, res) => {
    const body = hostPages.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(body);
  });
  await new Promise<void>((done) => host.listen(0, '127.0.0.1', done));
  hostOrigin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
});

after(async () => {
  // Pages hang up before the browser closes, so coturn sees the allocations go (see hangUpAndClose).
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await browser?.close();
  if (host) {
    host.closeAllConnections();
    await new Promise<void>((done) => host.close(() => done()));
  }
  await turn?.stop();
});

async function signalingServer(options: SignalingServerOptions): Promise<string> {
  const server: SignalingServer = createSignalingServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', ...options });
  const origin = await server.listen();
  cleanups.push(() => server.close());
  return origin;
}

const escapeAttr = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** Records the element's events and every RTCPeerConnection's candidate errors, before any page script. */
const RECORDER = `(() => {
  const rec = { events: [], candidateErrors: [], pcs: [], sockets: 0, sent: [] };
  window.__rec = rec;
  const NativeSocket = window.WebSocket;
  window.WebSocket = class extends NativeSocket {
    constructor(...args) {
      super(...args);
      rec.sockets++;
    }
    send(data) {
      try { rec.sent.push(JSON.parse(data).type); } catch {}
      return super.send(data);
    }
  };
  for (const type of ['p2p-state-change', 'p2p-error', 'p2p-stats', 'p2p-peer-join', 'p2p-peer-leave']) {
    document.addEventListener(type, (e) => rec.events.push({ type, at: Date.now(), detail: e.detail }));
  }
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      rec.pcs.push(this);
      this.addEventListener('icecandidateerror', (e) => rec.candidateErrors.push({ code: e.errorCode, url: e.url, text: e.errorText }));
    }
  };
})()`;

interface Recorded {
  events: RecordedEvent[];
  candidateErrors: Array<{ code: number; url: string; text: string }>;
}

/** Opens a host page with `<p2p-call autojoin>` loaded from `signalingOrigin` (no `server` attribute). */
async function openCall(signalingOrigin: string, room: string, attributes: Record<string, string>): Promise<Page> {
  const id = `/p/${hostPages.size}`;
  const attrs = Object.entries({ room, autojoin: '', ...attributes })
    .map(([name, value]) => (value === '' ? name : `${name}="${escapeAttr(value)}"`)).join(' ');
  hostPages.set(id, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>TURN test</title>
    <script type="module" src="${signalingOrigin}/p2p-call.js"></script></head>
    <body><p2p-call ${attrs}></p2p-call></body></html>`);
  const page = await browser.newPage();
  cleanups.push(() => hangUpAndClose(page));
  await page.evaluateOnNewDocument(RECORDER);
  await page.goto(`${hostOrigin}${id}`);
  return page;
}

/** Hangs up (closing the RTCPeerConnection, so coturn frees the allocation) and closes the page. */
async function hangUpAndClose(page: Page): Promise<void> {
  if (page.isClosed()) return;
  await page.evaluate(`document.querySelector('p2p-call')?.hangup()`).catch(() => undefined);
  await page.close();
}

const recorded = (page: Page) => page.evaluate(`({ events: window.__rec.events, candidateErrors: window.__rec.candidateErrors })`) as Promise<Recorded>;

interface RecordedEvent {
  type: string;
  at: number;
  detail: Record<string, unknown>;
}

/**
 * Resolves with the first element event (already recorded or still to come) for which `test`,
 * a JS expression on `e` ({ type, detail }), holds.
 */
function event(page: Page, test: string, timeoutMs: number): Promise<RecordedEvent> {
  return page.evaluate(`new Promise((resolve, reject) => {
    const match = (e) => ${test};
    const seen = window.__rec.events.find(match);
    if (seen) return resolve(seen);
    const timer = setTimeout(() => reject(new Error(${JSON.stringify(`no event with ${test} within ${timeoutMs} ms`)})), ${timeoutMs});
    for (const type of ['p2p-stats', 'p2p-error', 'p2p-peer-leave', 'p2p-state-change']) {
      document.addEventListener(type, (ev) => {
        const e = { type, at: Date.now(), detail: ev.detail };
        if (!match(e)) return;
        clearTimeout(timer);
        resolve(e);
      });
    }
  })`) as Promise<RecordedEvent>;
}

interface SelectedPair {
  local: string;
  remote: string;
  relayProtocol: string | undefined;
  url: string | undefined;
}

/** The connected RTCPeerConnection's selected candidate pair, from getStats(). */
function selectedPair(page: Page): Promise<SelectedPair> {
  return page.evaluate(`(async () => {
    const pc = window.__rec.pcs.filter((p) => p.connectionState === 'connected').pop();
    if (!pc) throw new Error('no connected RTCPeerConnection');
    const report = await pc.getStats();
    const byId = new Map();
    let pairId;
    report.forEach((s) => {
      byId.set(s.id, s);
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = byId.get(pairId);
    const local = byId.get(pair.localCandidateId);
    const remote = byId.get(pair.remoteCandidateId);
    return { local: local.candidateType, remote: remote.candidateType, relayProtocol: local.relayProtocol, url: local.url };
  })()`) as Promise<SelectedPair>;
}

const uniqueRoom = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

async function relayCall(transport: 'udp' | 'tcp'): Promise<void> {
  const signaling = await signalingServer({ turnSecret: SECRET, turnUrls: [`turn:${turn.host}:${turn.port}?transport=${transport}`] });
  const room = uniqueRoom(`relay-${transport}`);
  const attributes = { 'ice-transport-policy': 'relay' };
  const a = await openCall(signaling, room, attributes);
  await state(a, 'waiting');
  const b = await openCall(signaling, room, attributes);
  await Promise.all([state(a, 'connected'), state(b, 'connected')]);
  for (const page of [a, b]) await remoteFramesAdvance(page, REMOTE_FRAMES);
  for (const page of [a, b]) {
    const stats = await event(page, `e.type === 'p2p-stats' && e.detail.candidateType === 'relay'`, 10_000);
    assert.equal(stats.detail['candidateType'], 'relay');
    const pair = await selectedPair(page);
    assert.equal(pair.local, 'relay', `local candidate ${JSON.stringify(pair)}`);
    assert.equal(pair.remote, 'relay', `remote candidate ${JSON.stringify(pair)}`);
    // Chromium reports how it reaches the TURN server: the transport the URL asked for.
    assert.equal(pair.relayProtocol, transport, `relayProtocol ${JSON.stringify(pair)}`);
    const { events } = await recorded(page);
    assert.deepEqual(events.filter((e) => e.type === 'p2p-error'), [], 'no errors');
  }
  await Promise.all([hangUpAndClose(a), hangUpAndClose(b)]);
}

/**
 * Two relay-only elements that cannot get a TURN allocation. The first whose ICE timer runs out
 * fails with a fatal `ice-failed`, shows the human message, ends in `error`, tells the other
 * side why (a `bye` signal) and leaves the room; the other side fails the same way at once.
 * Both are settled within the bound: nothing hangs in `connecting`.
 */
async function expectIceFailed(signaling: string, attributes: Record<string, string>, note: (s: string) => void): Promise<void> {
  const room = uniqueRoom('ice-failed');
  const a = await openCall(signaling, room, attributes);
  await state(a, 'waiting');
  const b = await openCall(signaling, room, attributes);
  await Promise.all([state(a, 'connecting'), state(b, 'connecting')]);
  await expectSettledByIceFailed([a, b], Date.now(), ICE_TIMEOUT_MS + ICE_FAILED_MARGIN_MS, 'each', note);
  await Promise.all([hangUpAndClose(a), hangUpAndClose(b)]);
}

/**
 * Both pages settle within `boundMs` of `since` with ice-failed. TURN must have answered 401 on
 * `each` side, or at least on one (after an ICE restart the side told by the other may not have
 * gathered again before the other gave up).
 */
async function expectSettledByIceFailed(pages: Page[], since: number, boundMs: number, refused: 'each' | 'one', note: (s: string) => void): Promise<void> {
  const outcomes = await Promise.all(pages.map(async (page) => {
    const first = await event(page, `e.at >= ${since} && ((e.type === 'p2p-error' && e.detail.code === 'ice-failed') || e.type === 'p2p-peer-leave')`, boundMs + 2000);
    await state(page, first.type === 'p2p-error' ? 'error' : 'waiting', 2000);
    const message = await page.evaluate(`document.querySelector('p2p-call').shadowRoot.querySelector('[part~="status"]')?.textContent ?? ''`) as string;
    return { first, message, rec: await recorded(page) };
  }));
  note(outcomes.map(({ first, rec }, i) => `${'ab'[i]}: ${first.type} ${JSON.stringify(first.detail)} after ${first.at - since} ms, TURN errors ${JSON.stringify(rec.candidateErrors.map((e) => e.code))}`).join('; '));

  assert.ok(outcomes.every(({ first }) => first.type === 'p2p-error'), 'both sides report ice-failed');
  // Evidence that TURN refused the credentials (401), not that something else broke.
  const got401 = outcomes.map(({ rec }) => rec.candidateErrors.some((e) => e.code === 401));
  assert.ok(refused === 'each' ? got401.every(Boolean) : got401.some(Boolean), `401 from TURN (${refused} side): ${JSON.stringify(outcomes.map(({ rec }) => rec.candidateErrors))}`);
  for (const { first, message, rec } of outcomes) {
    const elapsed = first.at - since;
    assert.ok(elapsed < boundMs, `settled ${elapsed} ms after the start (bound ${boundMs} ms)`);
    assert.equal(first.detail['fatal'], true, JSON.stringify(first.detail));
    assert.match(message, /No network path/, `the element shows the human message: ${JSON.stringify(message)}`);
    assert.deepEqual(rec.events.filter((e) => e.type === 'p2p-peer-leave'), [], 'told why, not just left behind');
  }
}

describe('TURN relay through coturn (REST credentials from the signaling server)', () => {
  test('relay-only call over UDP: connected, video both ways, candidateType relay', async () => {
    await relayCall('udp');
  });

  test('relay-only call over TCP to the TURN server', async () => {
    await relayCall('tcp');
  });

  test('wrong shared secret: ice-failed in bounded time, with the human message', async (t) => {
    const signaling = await signalingServer({
      turnSecret: 'not-the-coturn-secret-0000',
      turnUrls: [`turn:${turn.host}:${turn.port}?transport=udp`],
    });
    await expectIceFailed(signaling, { 'ice-transport-policy': 'relay', 'ice-timeout': String(ICE_TIMEOUT_MS) }, (s) => t.diagnostic(s));
  });

  test('expired host-provided credential: ice-failed like a wrong secret', async (t) => {
    const signaling = await signalingServer({});
    const { username, credential } = restCredential(SECRET, Math.floor(Date.now() / 1000) - 60, 'expired');
    const iceServers = [{ urls: `turn:${turn.host}:${turn.port}?transport=udp`, username, credential }];
    await expectIceFailed(signaling, {
      'ice-transport-policy': 'relay',
      'ice-timeout': String(ICE_TIMEOUT_MS),
      'ice-servers': JSON.stringify(iceServers),
    }, (s) => t.diagnostic(s));
  });
});

/**
 * A TURN server restarted in place loses every allocation: the relayed path is gone and the SDK
 * restarts ICE, which needs new allocations, hence credentials coturn still accepts. (Chromium
 * refreshes a live allocation only every ~9 minutes and its permissions every ~4, and coturn
 * gives browsers 600 s whatever `--max-allocate-lifetime` says, because they send no LIFETIME;
 * so "the relay must be rebuilt" is the case a test can reach in seconds. The protocol-level
 * behaviour after expiry is in credential-lifetime.test.ts.)
 */
describe('TURN credentials over the life of a call', () => {
  let restartable: Coturn;

  before(async () => {
    restartable = await startCoturn({ secret: SECRET });
  });
  after(async () => {
    await restartable?.stop();
  });

  /** Stops coturn and starts it again on the same ports; resolves with the time it went away. */
  async function restartTurn(): Promise<number> {
    const { port, minPort, maxPort } = restartable;
    const stoppedAt = Date.now();
    await restartable.stop();
    restartable = await startCoturn({ secret: SECRET, ports: { port, minPort, maxPort } });
    return stoppedAt;
  }

  test('TURN restart mid-call: the ICE restart re-allocates with the credentials from joined and the call comes back', async () => {
    const url = `turn:${restartable.host}:${restartable.port}?transport=udp`;
    const signaling = await signalingServer({ turnSecret: SECRET, turnUrls: [url] });
    const room = uniqueRoom('turn-restart');
    const attributes = { 'ice-transport-policy': 'relay', 'ice-timeout': '8000' };
    const a = await openCall(signaling, room, attributes);
    await state(a, 'waiting');
    const b = await openCall(signaling, room, attributes);
    await Promise.all([state(a, 'connected'), state(b, 'connected')]);

    const since = await restartTurn();
    for (const page of [a, b]) await event(page, `e.type === 'p2p-state-change' && e.detail.state === 'reconnecting' && e.at >= ${since}`, 15_000);
    await Promise.all([state(a, 'connected', 15_000), state(b, 'connected', 15_000)]);
    for (const page of [a, b]) {
      await remoteFramesAdvance(page, REMOTE_FRAMES);
      assert.equal((await selectedPair(page)).local, 'relay');
      const { events } = await recorded(page);
      assert.deepEqual(events.filter((e) => e.type === 'p2p-error'), [], 'no errors');
    }
    await Promise.all([hangUpAndClose(a), hangUpAndClose(b)]);
  });

  // With P2P_TURN_EXPIRY_RUNS=20 this runs 20 expiries in a row (about a minute each).
  const expiryRuns = Math.max(1, Number(process.env['P2P_TURN_EXPIRY_RUNS'] ?? '1'));
  test(`a relay lost after the server-minted credential expired is rebuilt with fresh ones asked over the socket (${expiryRuns} run(s))`, { timeout: 40_000 + expiryRuns * 110_000 }, async (t) => {
    // The shortest turnTtl the server allows: each run waits about a minute for coturn to refuse it.
    const url = `turn:${restartable.host}:${restartable.port}?transport=udp`;
    const signaling = await signalingServer({ turnSecret: SECRET, turnUrls: [url], turnTtl: 60 });
    const room = uniqueRoom('expired-rebuilt');
    const attributes = { 'ice-transport-policy': 'relay', 'ice-timeout': '20000' };
    const a = await openCall(signaling, room, attributes);
    await state(a, 'waiting');
    const b = await openCall(signaling, room, attributes);
    await Promise.all([state(a, 'connected'), state(b, 'connected')]);
    const socketsBefore = await Promise.all([a, b].map((page) => page.evaluate('window.__rec.sockets') as Promise<number>));

    for (let run = 1; run <= expiryRuns; run++) {
      // A credential minted now expires after both pages' (minted when they joined or last
      // renewed): once coturn refuses it, theirs are refused too (probes bounded in count).
      const { username, credential } = restCredential(SECRET, Math.floor(Date.now() / 1000) + 60, 'probe');
      const server = { address: restartable.host, port: restartable.port };
      let refused = false;
      for (let probe = 0; probe < 100 && !refused; probe++) {
        const session = await TurnSession.open(server, username, credential);
        const answer = await session.allocate();
        if (answer.cls === 'success') await session.refresh(0);
        else refused = errorCode(answer) === 401;
        await session.close();
        if (!refused) await new Promise((r) => setTimeout(r, 1000));
      }
      assert.ok(refused, 'coturn refuses the expired credential');
      const asked = await Promise.all([a, b].map((page) => page.evaluate(`window.__rec.sent.filter((type) => type === 'ice-servers').length`) as Promise<number>));

      // Lose the relays: each side asks for fresh credentials over its socket, then one restart.
      const since = await restartTurn();
      for (const page of [a, b]) await event(page, `e.type === 'p2p-state-change' && e.detail.state === 'reconnecting' && e.at >= ${since}`, 15_000);
      await Promise.all([state(a, 'connected', 30_000), state(b, 'connected', 30_000)]);
      for (const page of [a, b]) {
        await remoteFramesAdvance(page, REMOTE_FRAMES);
        assert.equal((await selectedPair(page)).local, 'relay');
        const { events } = await recorded(page);
        assert.deepEqual(events.filter((e) => e.type === 'p2p-error' || e.type === 'p2p-peer-leave'), [], 'no errors, nobody left');
      }
      const askedAfter = await Promise.all([a, b].map((page) => page.evaluate(`window.__rec.sent.filter((type) => type === 'ice-servers').length`) as Promise<number>));
      assert.ok(askedAfter.every((n, i) => n > (asked[i] ?? 0)), `both sides asked for fresh ice-servers: ${JSON.stringify([asked, askedAfter])}`);
      t.diagnostic(`run ${run}: back on a relay ${Date.now() - since} ms after coturn restarted`);
    }
    const socketsAfter = await Promise.all([a, b].map((page) => page.evaluate('window.__rec.sockets') as Promise<number>));
    assert.deepEqual(socketsAfter, socketsBefore, 'no socket was dropped to renew credentials');
    await Promise.all([hangUpAndClose(a), hangUpAndClose(b)]);
  });

  test('a call outlives its credential: media flows past expiry, but a lost relay cannot be rebuilt with it', async (t) => {
    // Host-provided, so the SDK has no fresher one (the server's turnTtl is at least 60 s).
    // ice-timeout leaves room for the ICE restart: the polite side waits for the impolite
    // side's restart (2 s after it notices) rather than restarting first.
    const iceTimeoutMs = 8000;
    // Long enough for two pages to load and connect through the relay on a busy machine.
    const expiresAt = Math.floor(Date.now() / 1000) + 10;
    const { username, credential } = restCredential(SECRET, expiresAt, 'outlives');
    const url = `turn:${restartable.host}:${restartable.port}?transport=udp`;
    const signaling = await signalingServer({});
    const room = uniqueRoom('outlives');
    const attributes = {
      'ice-transport-policy': 'relay',
      'ice-timeout': String(iceTimeoutMs),
      'ice-servers': JSON.stringify([{ urls: url, username, credential }]),
    };
    const a = await openCall(signaling, room, attributes);
    await state(a, 'waiting');
    const b = await openCall(signaling, room, attributes);
    await Promise.all([state(a, 'connected'), state(b, 'connected')]);

    // From coturn's own view the credential has expired: it refuses a new allocation with it
    // (probes bounded in count; the wait is for coturn's clock to pass the expiry).
    const server = { address: restartable.host, port: restartable.port };
    let refused = false;
    for (let probe = 0; probe < 80 && !refused; probe++) {
      const session = await TurnSession.open(server, username, credential);
      const answer = await session.allocate();
      if (answer.cls === 'success') await session.refresh(0);
      else refused = errorCode(answer) === 401;
      await session.close();
      if (!refused) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(refused, 'coturn refuses a new allocation with the expired credential');

    // The allocations made before expiry keep relaying.
    for (const page of [a, b]) {
      await remoteFramesAdvance(page, REMOTE_FRAMES);
      assert.equal(await page.evaluate(`document.querySelector('p2p-call').state`), 'connected');
      assert.equal((await selectedPair(page)).local, 'relay');
    }

    // Lose them: the SDK's ICE restart asks coturn for new ones with the same credential (401),
    // and the call ends with ice-failed after reconnect detection (~5-7 s) plus ice-timeout.
    const since = await restartTurn();
    await expectSettledByIceFailed([a, b], since, 10_000 + iceTimeoutMs + ICE_FAILED_MARGIN_MS, 'one', (s) => t.diagnostic(s));
    await Promise.all([hangUpAndClose(a), hangUpAndClose(b)]);
  });
});
