/**
 * Resources an attacker could pin within the protocol's own limits, each bounded: half-sent
 * request heads (slowloris), bytes queued for held seats, the unread buffer of a slow reader,
 * the log, and a socket that ignores our close frame.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { PROTOCOL_V1 } from '../../sdk/protocol.js';
import { slowReaderBound } from '../../server/signaling-server.js';
import { capturingLogger, harness, httpGet, rawUpgrade, serverFor, TestClient, withTimeout } from './helpers.js';

const CLI = fileURLToPath(new URL('../../server/cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A TCP connection from `localAddress` that sends half a request head and then nothing. */
function halfRequest(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress }, () => {
      socket.write('GET /ws HTTP/1.1\r\nHost: x\r\n');
      resolve(socket);
    });
    // Read whatever comes (a 408), so that the server's close is seen.
    socket.resume();
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return withTimeout(new Promise<boolean>((resolve) => socket.once('close', () => resolve(true))), ms, 'socket closed').catch(() => false);
}

describe('half-sent request heads (slowloris)', () => {
  test('with 256 file descriptors, 400 half-open sockets from one address leave joins and /healthz working', async (t) => {
    // The server runs with `ulimit -n 256`, as in the report that found the problem.
    const child = spawn('sh', ['-c', `ulimit -n 256 && exec "${process.execPath}" --import tsx "${CLI}" --port 0`], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, P2P_LOG_LEVEL: 'info' },
    });
    t.after(() => child.kill('SIGKILL'));
    const port = await new Promise<number>((resolve, reject) => {
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`server exited ${code}: ${output}`)));
    });

    const attackers: Socket[] = [];
    t.after(() => attackers.forEach((socket) => socket.destroy()));
    for (let i = 0; i < 400; i++) attackers.push(await halfRequest(port).catch(() => connect(port)));
    // Past the per-address cap the server closes them at once instead of holding descriptors.
    const open = attackers.filter((socket) => !socket.destroyed);
    await Promise.all(attackers.slice(100).map((socket) => closedWithin(socket, 3_000)));
    assert.ok(attackers.filter((socket) => !socket.destroyed).length <= 16 + 1, `${open.length} still open`);

    // Another address joins and reads /healthz as if nothing happened.
    const health = await new Promise<number>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }, () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('end', () => resolve(Number(/HTTP\/1\.1 (\d+)/.exec(text)?.[1])));
      socket.on('error', reject);
    });
    assert.equal(health, 200);
    const client = await new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, PROTOCOL_V1, { localAddress: '127.0.0.2' });
      socket.once('open', () => resolve(socket));
      socket.once('error', reject);
    });
    t.after(() => client.terminate());
    client.send(JSON.stringify({ type: 'join', room: 'still-works' }));
    const joined = await new Promise<{ type: string }>((resolve) => client.once('message', (data) => resolve(JSON.parse(data.toString()))));
    assert.equal(joined.type, 'joined');
  });

  test('a half-sent head is closed after headerTimeoutMs, and the refusals are counted in /metrics', async (t) => {
    const running = await serverFor(t, { headerTimeoutMs: 500, maxPendingConnectionsPerIp: 2 });
    const slow = await halfRequest(running.port);
    t.after(() => slow.destroy());
    const refusedOne = await halfRequest(running.port);
    const refusedTwo = await halfRequest(running.port);
    const third = await halfRequest(running.port);
    t.after(() => [refusedOne, refusedTwo, third].forEach((socket) => socket.destroy()));
    assert.ok(await closedWithin(third, 2_000), 'the third pending socket of one address is closed at once');
    assert.ok(await closedWithin(slow, 3_000), 'the slow head is cut after the header timeout, not ~90 s');
    const metrics = await httpGet(`${running.httpUrl}/metrics`);
    assert.match(metrics.body, /p2p_call_connections_refused_total\{reason="pending-per-ip"[^}]*\} [1-9]/);
  });
});

describe('bytes queued for held seats', () => {
  test('one address cannot pin more than maxQueuedBytesPerIp, whatever the number of rooms', async (t) => {
    const seatCap = 128 * 1024;
    const addressCap = 256 * 1024;
    const h = await harness(t, { maxQueuedBytesPerIp: addressCap, maxQueuedBytesPerSeat: seatCap, reconnectGraceMs: 60_000 });
    const big = { blob: 'x'.repeat(30 * 1024) };
    const size = Buffer.byteLength(JSON.stringify(big));
    const acceptedPerRoom: number[] = [];
    for (let room = 0; room < 6; room++) {
      const sender = await h.seat(`r${room}`);
      const held = await h.seat(`r${room}`);
      await sender.client.next('peer-joined');
      held.client.drop();
      await sender.client.next('peer-disconnected');
      for (let i = 0; i < 8; i++) sender.client.send({ type: 'signal', data: big });
      sender.client.send({ type: 'ping' });
      let refused = 0;
      for (;;) {
        const message = await sender.client.next();
        if (message.type === 'pong') break;
        assert.deepEqual([message.type, message.type === 'error' && message.code], ['error', 'peer-absent']);
        refused++;
      }
      acceptedPerRoom.push(8 - refused);
    }
    const perSeat = Math.floor(seatCap / size);
    assert.deepEqual(acceptedPerRoom.slice(0, 2), [perSeat, perSeat], 'each held seat takes what its byte cap allows');
    const total = acceptedPerRoom.reduce((sum, n) => sum + n, 0) * size;
    assert.ok(total <= addressCap, `${total} bytes queued by one address`);
    assert.deepEqual(acceptedPerRoom.slice(3), [0, 0, 0], 'past the address cap nothing more is queued');
  });
});

describe('the slow-reader bound', () => {
  test('is 16 frames, at most 4 MiB unless one frame needs more (then two frames)', () => {
    assert.equal(slowReaderBound(65_536), 1_048_576);
    assert.equal(slowReaderBound(1_048_576), 4 * 1_048_576);
    assert.equal(slowReaderBound(16 * 1_048_576), 32 * 1_048_576, 'not 256 MiB');
  });
});

describe('the log cannot be used to fill a disk', () => {
  test('refused upgrades and invalid frames are logged rate-limited and truncated, counted in /metrics', async (t) => {
    const { logger, lines } = capturingLogger('info');
    const running = await serverFor(t, { logger, allowedOrigins: ['https://ok.example'] });
    const origin = `https://${'a'.repeat(16_000)}.example`;
    for (let i = 0; i < 100; i++) {
      const answer = await rawUpgrade(running.port, { 'Sec-WebSocket-Protocol': PROTOCOL_V1, Origin: origin });
      assert.equal(answer.status, 403);
    }
    const client = await TestClient.connect(running.wsUrl);
    t.after(() => client.drop());
    for (let i = 0; i < 15; i++) client.sendRaw('not json');
    for (let i = 0; i < 15; i++) await client.nextError('invalid-message');

    const refusedLines = lines.filter((line) => line.includes('upgrade refused'));
    assert.ok(refusedLines.length <= 10, `${refusedLines.length} refusal lines`);
    assert.ok(refusedLines.every((line) => line.length < 1_000), 'the 16 KB Origin is truncated');
    assert.ok(lines.filter((line) => line.includes('"error sent"')).length <= 10);
    const metrics = await httpGet(`${running.httpUrl}/metrics`);
    assert.match(metrics.body, /p2p_call_connections_refused_total\{reason="forbidden-origin"[^}]*\} 100/);
    assert.match(metrics.body, /p2p_call_errors_sent_total\{code="invalid-message"[^}]*\} 15/);
  });
});

describe('server life', () => {
  test('an error on the HTTP server after listen is logged, not a crash', async (t) => {
    const running = await serverFor(t);
    running.server.httpServer.emit('error', new Error('late failure'));
    assert.equal((await httpGet(`${running.httpUrl}/healthz`)).status, 200);
  });

  test('a socket closed with 1008 that ignores the close frame frees its slot within about a second', async (t) => {
    const running = await serverFor(t, { maxConnectionsPerIp: 1 });
    const client = await TestClient.connect(running.wsUrl);
    t.after(() => client.drop());
    // Stop reading: the close frame goes unanswered.
    const raw = (client.socket as unknown as { _socket: Socket })._socket;
    raw.pause();
    for (let i = 0; i < 21; i++) client.sendRaw('not json');
    const started = Date.now();
    for (;;) {
      if (running.server.stats().connections === 0) break;
      assert.ok(Date.now() - started < 3_000, 'the slot is freed well before ws\'s 30 s close timeout');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const next = await TestClient.connect(running.wsUrl);
    t.after(() => next.drop());
  });
});

describe('the heartbeat after a stall', () => {
  test('a beat that comes late (this process stalled) terminates nobody; the next on-time beat does', async (t) => {
    const running = await serverFor(t, { pingIntervalMs: 60_000 });
    const silent = await TestClient.connect(running.wsUrl, { autoPong: false });
    t.after(() => silent.drop());
    const server = running.server as unknown as { beat(): void; lastBeat: number; connections: Set<{ socket: { readyState: number } }> };
    const [ours] = [...server.connections];
    server.beat(); // pings; the silent client will not answer
    server.lastBeat = performance.now() - 10 * 60_000; // as if the process had stalled since
    server.beat();
    assert.equal(ours?.socket.readyState, 1, 'not judged on a late beat (the server side is still open)');
    server.beat(); // on time now, still no pong: terminated
    assert.equal((await silent.closed).code, 1006);
  });
});
