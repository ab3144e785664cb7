/**
 * Browser-side helpers for SDK tests: real signaling servers through the test runner's
 * plugin, calls wired to them, and waits on events (never on sleeps).
 */
import { executeServerCommand } from '@web/test-runner-commands';
import { Call, type CallOptions, type CallState } from '../../sdk/index.js';
import type { SignalingServerOptions } from '../../server/config.js';

export interface TestServer {
  id: string;
  url: string;
  wsUrl: string;
}

const started: TestServer[] = [];
const calls: Call[] = [];

export async function startServer(options: Omit<SignalingServerOptions, 'logger' | 'server'> = {}): Promise<TestServer> {
  const server = await executeServerCommand<TestServer, { options: typeof options }>('signaling-start', { options });
  started.push(server);
  return server;
}

export function serverCommand<T = unknown>(command: string, server: TestServer, extra: Record<string, unknown> = {}): Promise<T> {
  return executeServerCommand<T, { id: string }>(command, { ...extra, id: server.id });
}

/** A call whose resume value lives in memory only, so two calls in one page stay separate seats. */
export function makeCall(server: TestServer, room: string, options: Partial<CallOptions> = {}): Call {
  const call = new Call({
    server: server.wsUrl,
    room,
    iceTimeoutMs: 15_000,
    ...options,
    signaling: { storage: null, ...options.signaling },
  });
  calls.push(call);
  return call;
}

/** Hangs up every call and stops every server a test started. Call from `afterEach`. */
export async function cleanUp(): Promise<void> {
  for (const call of calls.splice(0)) call.hangup();
  for (const server of started.splice(0)) await serverCommand('signaling-stop', server);
}

export function uniqueRoom(prefix = 'room'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Resolves with the first payload of `event` that satisfies `predicate`. */
export function nextEvent<E extends keyof import('../../sdk/index.js').CallEvents>(
  call: Call,
  event: E,
  predicate: (payload: import('../../sdk/index.js').CallEvents[E]) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<import('../../sdk/index.js').CallEvents[E]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${String(event)}`));
    }, timeoutMs);
    const off = call.on(event, (payload) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** Resolves when `call.state` is `state` (at once if it already is). */
export async function stateReached(call: Call, state: CallState, timeoutMs = 15_000): Promise<void> {
  if (call.state === state) return;
  await nextEvent(call, 'state', (change) => change.state === state, timeoutMs);
}

/**
 * Proves video frames are decoded: plays the stream in a <video> and waits until the
 * browser has presented `frames` new frames.
 */
export async function framesDecoded(stream: MediaStream, frames = 3, timeoutMs = 10_000): Promise<void> {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  document.body.append(video);
  try {
    await video.play();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no video frames were decoded in time')), timeoutMs);
      let first: number | undefined;
      const onFrame: VideoFrameRequestCallback = (_now, metadata) => {
        first ??= metadata.presentedFrames;
        if (metadata.presentedFrames - first >= frames) {
          clearTimeout(timer);
          resolve();
        } else {
          video.requestVideoFrameCallback(onFrame);
        }
      };
      video.requestVideoFrameCallback(onFrame);
    });
  } finally {
    video.srcObject = null;
    video.remove();
  }
}

/** Total inbound audio packets of a call's connection, from getStats. */
export async function inboundAudioPackets(call: Call): Promise<number> {
  const pc = (call as unknown as { session?: { pc: RTCPeerConnection } }).session?.pc;
  if (!pc) return 0;
  let packets = 0;
  (await pc.getStats()).forEach((stat: RTCStats & Record<string, unknown>) => {
    if (stat.type === 'inbound-rtp' && stat['kind'] === 'audio') packets += Number(stat['packetsReceived'] ?? 0);
  });
  return packets;
}

/** Waits until `check` returns true, re-checking on each animation frame (bounded). */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
}

/** The call's RTCPeerConnection (internal; tests only). */
export function peerConnection(call: Call): RTCPeerConnection {
  const pc = (call as unknown as { session?: { pc: RTCPeerConnection } }).session?.pc;
  if (!pc) throw new Error('the call has no peer connection');
  return pc;
}

/** The ICE username fragment of a description: it changes with every ICE restart. */
export function iceUfrag(description: RTCSessionDescription | null): string | undefined {
  return description?.sdp.match(/a=ice-ufrag:(\S+)/)?.[1];
}

/** Two calls in one room, both connected. */
export async function connectedPair(server: TestServer, options: Partial<CallOptions> = {}) {
  const room = uniqueRoom();
  const a = makeCall(server, room, options);
  const b = makeCall(server, room, options);
  await a.join();
  await b.join();
  await Promise.all([stateReached(a, 'connected'), stateReached(b, 'connected')]);
  return { a, b, room };
}

/** Records a call's signaling states from now on. */
export function recordSignaling(call: Call): string[] {
  const seen: string[] = [];
  call.on('signaling-state', (state) => seen.push(state));
  return seen;
}
