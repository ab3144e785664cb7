/**
 * deploy/nginx-upstream.conf, run for real in front of two signaling nodes (separate processes
 * of the built server) that share their rooms in one real redis-server. Two Chromium browsers
 * call each other through nginx (wss); the node that carries both signaling sockets is killed
 * with SIGKILL. Checked: the video keeps decoding on both sides on the same peer connection
 * and the call stays `connected`; both SDKs are back on the other node, on their own seats
 * (same peerId, counted as `resumed` there), within the grace period; an ICE restart
 * negotiated through the surviving node then succeeds, with video decoding again.
 *
 * Which node gets a socket is nginx's round-robin choice. To make "both sockets on one node"
 * deterministic, both nodes run from the start but nginx starts with node 2 marked `down`, so
 * both browsers join on node 1 (its `p2p_call_connections` confirms it carries both); then nginx
 * reloads the site with the shipped upstream (node 2 in rotation, as an operator adds a node),
 * and the test waits until nginx forwards a request to node 2 before it kills node 1.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { launchChromium, startStaticServer } from '../e2e/browser.js';
import { startRedis, type RedisProcess } from '../redis.js';
import { startNodeProcess, type NodeProcess } from '../scale/nodes.js';
import { Workspace, get, makeCertificate, startNginxUpstream, type Certificate, type RunningNginx } from './helpers.js';

const PING_MS = 2_000;
const GRACE_MS = 15_000;
/** Sampling period of the pages' inbound video counters. */
const SAMPLE_MS = 200;
/** Longest time the decoded-frame counter may stand still (fake camera: ~30 fps; a busy 2-core box stutters). */
const MAX_STALL_MS = 2_000;

const workspaces: Workspace[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
let redis: RedisProcess;
let node1: NodeProcess;
let node2: NodeProcess | undefined;
let nginx: RunningNginx & { reload(): Promise<void> };
let cert: Certificate;
let pages: { url: string; close(): Promise<void> };
const browsers: Browser[] = [];

function nodeEnv(prefix: string): Record<string, string> {
  return {
    P2P_REDIS_URL: redis.url,
    P2P_REDIS_KEY_PREFIX: prefix,
    P2P_TRUST_PROXY: 'true',
    P2P_PING_INTERVAL_MS: String(PING_MS),
    P2P_RECONNECT_GRACE_MS: String(GRACE_MS),
  };
}

async function stopNode(node: NodeProcess | undefined): Promise<void> {
  if (node === undefined || node.child.exitCode !== null || node.child.signalCode !== null) return;
  node.signal('SIGKILL');
  await node.exited;
}

const prefix = `nginx-nodes-${process.pid}-${Date.now()}:`;

before(async () => {
  redis = await startRedis();
  cleanups.push(() => redis.kill());
  node1 = await startNodeProcess(nodeEnv(prefix));
  cleanups.push(() => stopNode(node1));
  node2 = await startNodeProcess(nodeEnv(prefix));
  const node2Port = Number(new URL(node2.httpUrl).port);
  const ws = new Workspace('nginx-nodes');
  workspaces.push(ws);
  cert = makeCertificate(ws);
  nginx = await startNginxUpstream(ws, cert, [Number(new URL(node1.httpUrl).port), node2Port], [1]);
  cleanups.push(() => nginx.stop());
  pages = await startStaticServer();
  cleanups.push(() => pages.close());
  // Two browsers, one page each: both tabs are in front, both present video.
  for (let i = 0; i < 2; i++) browsers.push(await launchChromium({ extraArgs: ['--ignore-certificate-errors'] }));
});

after(async () => {
  for (const browser of browsers) await browser.close().catch(() => {});
  await stopNode(node2);
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  for (const ws of workspaces) ws.remove();
});

/** The value of a Prometheus sample (`name` or `name{label="v"}`, other labels ignored) on a node; 0 when absent. */
async function metric(node: NodeProcess, name: string, label?: string): Promise<number> {
  const { status, body } = await get(`${node.httpUrl}/metrics`);
  assert.equal(status, 200, `GET ${node.httpUrl}/metrics`);
  for (const line of body.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    if (label !== undefined && !(match[2] ?? '').includes(label)) continue;
    return Number(match[3]);
  }
  return 0;
}

/** Polls `check` every 100 ms until it returns true; fails with `what` (and the last detail) after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

type PageWindow = {
  call: { state: string; peerId?: string; restartIce(): void; hangup(): void; on(e: string, f: (x: unknown) => void): () => void };
  callLog: string[];
  pcs: RTCPeerConnection[];
  samples: Array<{ t: number; frames: number; pcs: number }>;
  sampler?: ReturnType<typeof setInterval>;
  events: Array<{ t: number; what: string }>;
};

/** Opens the SDK page (served by the static server) with its signaling through nginx; the page joins `room` at once. */
async function openCall(browser: Browser, room: string): Promise<Page> {
  const page = await browser.newPage();
  // Keep every RTCPeerConnection the page creates, to read its inbound counters and ICE credentials.
  await page.evaluateOnNewDocument(`(() => {
    const Native = window.RTCPeerConnection;
    window.pcs = [];
    window.RTCPeerConnection = class extends Native {
      constructor(...args) { super(...args); window.pcs.push(this); }
    };
  })()`);
  const server = `wss://127.0.0.1:${nginx.httpsPort}/ws`;
  await page.goto(`${pages.url}/test/e2e/pages/sdk-call.html?server=${encodeURIComponent(server)}&room=${room}`);
  await page.waitForFunction('window.call !== undefined', { timeout: 10_000 });
  await page.evaluate(`(() => {
    window.events = [];
    window.call.on('signaling-state', (s) => window.events.push({ t: Date.now(), what: 'signaling:' + s }));
    window.call.on('state', ({ state }) => window.events.push({ t: Date.now(), what: 'call:' + state }));
  })()`);
  return page;
}

const callState = (page: Page) => page.evaluate(() => (window as unknown as PageWindow).call.state);

/** Video frames decoded so far on the page's latest peer connection (inbound-rtp, kind video). */
function framesDecoded(page: Page): Promise<number> {
  return page.evaluate(`(async () => {
    const pc = window.pcs[window.pcs.length - 1];
    if (!pc) return 0;
    let frames = 0;
    (await pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') frames = r.framesDecoded ?? 0; });
    return frames;
  })()`) as Promise<number>;
}

/** Waits until `count` more frames are decoded than now. */
async function framesAdvance(page: Page, what: string, count = 10, timeoutMs = 10_000): Promise<void> {
  const start = await framesDecoded(page);
  await until(`${count} new decoded frames on ${what}`, async () => (await framesDecoded(page)) >= start + count, timeoutMs);
}

/** Starts page-side sampling of the decoded-frame counter (and how many peer connections exist). */
function startSampling(page: Page): Promise<void> {
  return page.evaluate(`(() => {
    window.samples = [];
    window.sampler = setInterval(async () => {
      const pc = window.pcs[window.pcs.length - 1];
      let frames = 0;
      (await pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') frames = r.framesDecoded ?? 0; });
      window.samples.push({ t: Date.now(), frames, pcs: window.pcs.length });
    }, ${SAMPLE_MS});
  })()`) as Promise<void>;
}

async function stopSampling(page: Page): Promise<Array<{ t: number; frames: number; pcs: number }>> {
  return page.evaluate(() => {
    const w = window as unknown as PageWindow;
    clearInterval(w.sampler);
    return w.samples;
  });
}

/** The longest span (ms) in which the decoded-frame counter did not move. */
function longestStall(samples: Array<{ t: number; frames: number }>): number {
  let longest = 0;
  let since = samples[0]?.t ?? 0;
  let last = samples[0]?.frames ?? 0;
  for (const sample of samples) {
    if (sample.frames > last) {
      last = sample.frames;
      since = sample.t;
    }
    longest = Math.max(longest, sample.t - since);
  }
  return longest;
}

/** The ICE username fragments of the page's latest peer connection (they change on an ICE restart), and its ICE state. */
const iceUfrags = (page: Page) => page.evaluate(`(() => {
  const pc = window.pcs[window.pcs.length - 1];
  const ufrag = (sdp) => (/a=ice-ufrag:(\\S+)/.exec(sdp ?? '') ?? [])[1];
  return { local: ufrag(pc.localDescription?.sdp), remote: ufrag(pc.remoteDescription?.sdp), ice: pc.iceConnectionState };
})()`) as Promise<{ local?: string; remote?: string; ice: string }>;

test('two browsers through nginx and two nodes: SIGKILL of the node with both sockets; media flows, both SDKs resume on the other node, an ICE restart succeeds', async (t) => {
  const room = `nginx-nodes-${Date.now()}`;
  const a = await openCall(browsers[0] as Browser, room);
  const b = await openCall(browsers[1] as Browser, room);
  const diagnostics = async () => {
    const logs = await Promise.all([a, b].map((p) => p.evaluate(() => {
      const w = window as unknown as PageWindow;
      return { callLog: w.callLog, events: w.events };
    }).catch((e: Error) => e.message)));
    return `pages: ${JSON.stringify(logs)}\nnode1: ${node1.log.slice(-30).join('\n')}\nnode2: ${node2?.log.slice(-30).join('\n') ?? '(not started)'}`;
  };
  try {
    await until('both calls connected', async () => (await callState(a)) === 'connected' && (await callState(b)) === 'connected', 20_000);
    await framesAdvance(a, 'page A');
    await framesAdvance(b, 'page B');
    // Node 2 is not running yet, so nginx put both sockets on node 1.
    assert.equal(await metric(node1, 'p2p_call_connections'), 2, 'node 1 carries both signaling sockets');
    const peerIds = await Promise.all([a, b].map((p) => p.evaluate(() => (window as unknown as PageWindow).call.peerId)));
    assert.ok(peerIds[0] && peerIds[1] && peerIds[0] !== peerIds[1], `two seats: ${peerIds.join(', ')}`);

    // Node 2 joins the rotation (nginx reloads the shipped upstream): wait until nginx forwards a
    // request to it (its metrics carry its node id).
    assert.equal(await metric(node2 as NodeProcess, 'p2p_call_connections'), 0, 'node 2 carries no socket');
    await nginx.reload();
    const node2Id = /node="([^"]+)"/.exec((await get(`${(node2 as NodeProcess).httpUrl}/metrics`)).body)?.[1];
    assert.ok(node2Id, 'node 2 labels its metrics with its node id');
    await until('nginx forwarding to node 2', async () => {
      const answer = await get(`${nginx.origin}/metrics`, { ca: cert.pem }).catch(() => undefined);
      return answer?.status === 200 && answer.body.includes(`node="${node2Id}"`);
    }, 15_000);

    await Promise.all([startSampling(a), startSampling(b)]);
    await until('samples before the kill', async () => (await a.evaluate(() => (window as unknown as PageWindow).samples.length)) >= 5);
    const killedAt = Date.now();
    node1.signal('SIGKILL');
    await node1.exited;

    // Both SDKs come back on node 2 by resuming their own seats.
    await until('both SDKs resumed on node 2', async () => (await metric(node2 as NodeProcess, 'p2p_call_joins_total', 'result="resumed"')) === 2, GRACE_MS);
    await until('both pages report signaling joined', async () => {
      const states = await Promise.all([a, b].map((p) => p.evaluate(`window.events.filter((x) => x.t >= ${killedAt}).map((x) => x.what)`) as Promise<string[]>));
      return states.every((s) => s.includes('signaling:reconnecting') && s[s.length - 1] === 'signaling:joined');
    }, GRACE_MS);
    const resumedAt = Date.now();
    const backAt = await Promise.all([a, b].map((p) => p.evaluate(`(() => {
      const e = window.events.filter((x) => x.what === 'signaling:joined' && x.t >= ${killedAt});
      return e.length ? e[0].t : null;
    })()`) as Promise<number | null>));
    assert.equal(await metric(node2 as NodeProcess, 'p2p_call_connections'), 2, 'node 2 now carries both sockets');
    assert.equal(await metric(node2 as NodeProcess, 'p2p_call_joins_total', 'result="joined"'), 0, 'no fresh seat was taken');
    const peerIdsAfter = await Promise.all([a, b].map((p) => p.evaluate(() => (window as unknown as PageWindow).call.peerId)));
    assert.deepEqual(peerIdsAfter, peerIds, 'same seats (peerIds) after the resume');
    for (const at of backAt) {
      assert.ok(at !== null && at - killedAt < GRACE_MS, `back ${at === null ? '?' : at - killedAt} ms after the kill, within the ${GRACE_MS} ms grace`);
    }
    t.diagnostic(`SDKs joined on node 2 ${backAt.map((at) => (at ?? 0) - killedAt).join(' / ')} ms after the SIGKILL`);

    // Keep sampling a little past the resume, then judge the whole span.
    await until('samples after the resume', async () => (await a.evaluate(`window.samples.filter((s) => s.t > ${resumedAt}).length`) as number) >= 5);
    for (const [name, page] of [['A', a], ['B', b]] as const) {
      const samples = await stopSampling(page);
      const span = samples.filter((s) => s.t >= killedAt - 1_000);
      assert.ok(span.length >= 10, `page ${name}: ${span.length} samples`);
      assert.ok((span.at(-1)?.frames ?? 0) > (span[0]?.frames ?? 0), `page ${name}: frames decoded across the outage`);
      const stall = longestStall(span);
      t.diagnostic(`page ${name}: longest stand-still of decoded frames across the outage ${stall} ms (${span.length} samples)`);
      assert.ok(stall <= MAX_STALL_MS, `page ${name}: decoded frames stood still for ${stall} ms across the outage`);
      assert.ok(span.every((s) => s.pcs === 1), `page ${name}: the same peer connection throughout`);
      const states = await page.evaluate(`window.events.filter((x) => x.t >= ${killedAt} && x.what.startsWith('call:')).map((x) => x.what)`) as string[];
      assert.deepEqual(states, [], `page ${name}: the call stayed connected`);
    }

    // An ICE restart, negotiated through node 2.
    const relayedBefore = await metric(node2 as NodeProcess, 'p2p_call_signals_relayed_total');
    const ufragsBefore = await Promise.all([iceUfrags(a), iceUfrags(b)]);
    await a.evaluate(() => (window as unknown as PageWindow).call.restartIce());
    await until('new ICE credentials on both sides, ICE connected', async () => {
      const [ua, ub] = await Promise.all([iceUfrags(a), iceUfrags(b)]);
      const ok = (u: typeof ua, was: typeof ua) => u.local !== was.local && u.remote !== was.remote && (u.ice === 'connected' || u.ice === 'completed');
      return ok(ua, ufragsBefore[0]) && ok(ub, ufragsBefore[1]);
    }, 15_000);
    assert.ok((await metric(node2 as NodeProcess, 'p2p_call_signals_relayed_total')) > relayedBefore, 'the restart offer/answer went through node 2');
    assert.equal(await callState(a), 'connected');
    assert.equal(await callState(b), 'connected');
    await framesAdvance(a, 'page A after the ICE restart');
    await framesAdvance(b, 'page B after the ICE restart');
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await diagnostics()}`, { cause: error });
  } finally {
    for (const page of [a, b]) {
      await page.evaluate(() => (window as unknown as PageWindow).call.hangup()).catch(() => {});
      await page.close().catch(() => {});
    }
  }
});
