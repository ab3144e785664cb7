/**
 * Review reproductions: each test states what PROTOCOL.md or the issue requires and fails
 * against the current server where the review found a bug. Crash reproductions run the server
 * in a child process (from source, via tsx) so that a crash fails the test, not the runner.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import type WebSocket from 'ws';
import { clientFor, pairIn, serverFor, type TestClient } from './helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// ---------------------------------------------------------------------------------------------
// A server in a child process

interface Child {
  process: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

function startChild(): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/cli.ts', '--port', '0', '--log-level', 'info'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output);
      if (match) {
        child.stdout?.off('data', check);
        resolve({ process: child, port: Number(match[1]), exited, output: () => output });
      }
    };
    child.stdout?.on('data', check);
    void exited.then(() => reject(new Error(`server exited before listening:\n${output}`)));
  });
}

/** Writes raw bytes on a fresh TCP connection and resolves once the server closes it. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket: Socket = connect(port, '127.0.0.1', () => socket.write(text));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(answer));
  });
}

/** Fails with the child's output if it died. */
async function assertAlive(child: Child): Promise<void> {
  const died = await Promise.race([child.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 300))]);
  assert.equal(died, false, `the server process died:\n${child.output()}`);
  const res = await fetch(`http://127.0.0.1:${child.port}/healthz`);
  assert.equal(res.status, 200);
}

const UPGRADE_HEADERS =
  'Host: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: p2p-call.v1\r\n\r\n';

describe('review: malformed HTTP input must not crash the process', () => {
  test('GET // (a request-target new URL() cannot parse) gets an answer and the server lives', async () => {
    const child = await startChild();
    await rawRequest(child.port, 'GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await assertAlive(child);
  });

  test('an upgrade request to // is refused and the server lives', async () => {
    const child = await startChild();
    await rawRequest(child.port, `GET // HTTP/1.1\r\n${UPGRADE_HEADERS}`);
    await assertAlive(child);
  });

  test('upgrades to a wrong path whose client resets at once do not crash the server (ECONNRESET)', async () => {
    const child = await startChild();
    for (let i = 0; i < 300 && child.process.exitCode === null; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(child.port, '127.0.0.1', () => {
          socket.write(`GET /not-ws HTTP/1.1\r\n${UPGRADE_HEADERS}`);
          socket.resetAndDestroy();
          resolve();
        });
        socket.on('error', () => resolve());
      });
    }
    await assertAlive(child);
  });
});

// ---------------------------------------------------------------------------------------------

/** Makes a ws client stop writing (so it never answers the server's close frame), like a stuck peer. */
function stopWriting(client: TestClient): void {
  const raw = (client.socket as unknown as { _socket: Socket })._socket;
  raw.write = (() => true) as typeof raw.write;
}

describe('review: a seat whose socket the server closes with 1008 is held at once', () => {
  test('a signal sent after the other seat was closed with 1008 reaches that seat once resumed (not silently lost)', async (t) => {
    const { wsUrl } = await serverFor(t);
    const { a, b, joinedA } = await pairIn(t, wsUrl, 'policy-close');
    for (let i = 0; i < 21; i++) a.sendRaw('not json');
    for (let i = 0; i < 21; i++) await a.nextError('invalid-message');
    // The server has now called close(1008) on A. A's client never completes the handshake.
    stopWriting(a);

    b.send({ type: 'signal', data: { n: 1 } });
    // PROTOCOL.md close codes: 1008 → "held, as for a drop"; signals to a held seat are queued.
    const a2 = await clientFor(t, wsUrl);
    const rejoined = await a2.join('policy-close', { resume: joinedA.resume });
    assert.equal(rejoined.peerId, joinedA.peerId);
    const signal = await a2.next('signal', 1000);
    assert.deepEqual(signal.data, { n: 1 }, 'the signal sent after the 1008 is queued, not silently lost');
  });
});

describe('review: a slow reader cannot make the server buffer without bound', () => {
  test('one burst of signals to a peer that does not read is not buffered past 1 MiB (default limits)', async (t) => {
    const running = await serverFor(t); // default limits: burst 200, 64 KiB frames
    const { a, b } = await pairIn(t, running.wsUrl, 'slow-reader');
    (b.socket as unknown as { _socket: Socket })._socket.pause();
    const chunk = 'x'.repeat(60_000);
    const connections = (running.server as unknown as { connections: Set<{ socket: WebSocket }> }).connections;
    let peak = 0;
    for (let i = 0; i < 190; i++) {
      a.send({ type: 'signal', data: { i, chunk } });
    }
    // Past 16 unread max-size frames the reader is cut off like a dead socket: its peer is told
    // and its seat is held (later signals queue, bounded), instead of the server buffering ~11 MB.
    await a.next('peer-disconnected');
    for (const c of connections) peak = Math.max(peak, c.socket.bufferedAmount);
    assert.equal(connections.size, 1, 'the slow socket is gone');
    assert.ok(peak < 2 * 1024 * 1024, `server holds ${(peak / 1e6).toFixed(1)} MB`);
  });
});

describe('review: signal data is relayed as sent', () => {
  test('a number outside the double range is not turned into null', async (t) => {
    const { wsUrl } = await serverFor(t);
    const { a, b } = await pairIn(t, wsUrl, 'huge-number');
    a.sendRaw('{"type":"signal","data":{"x":1e400}}');
    const answer = await Promise.race([b.next('signal'), a.next('error')]);
    // Either refused (invalid-message) or delivered unchanged; never silently altered.
    if (answer.type === 'signal') assert.notDeepEqual(answer.data, { x: null }, 'data was modified: 1e400 became null');
    else assert.equal(answer.code, 'invalid-message');
  });
});
