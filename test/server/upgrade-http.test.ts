/**
 * The HTTP side of the server: subprotocol negotiation and origin checks at the WebSocket
 * upgrade (refusals read raw, since a WebSocket client hides them), the plain HTTP routes, and
 * attaching to a host application's own http.Server.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import WebSocket from 'ws';
import { createSignalingServer } from '../../server/index.js';
import { clientFor, httpGet, rawUpgrade, serverFor, TestClient } from './helpers.js';

const V1 = 'p2p-call.v1';

function json(body: string): Record<string, unknown> {
  return JSON.parse(body) as Record<string, unknown>;
}

describe('subprotocol negotiation: the server speaks p2p-call.v1 only when it is offered', () => {
  test('no subprotocol offered → 426 with the supported list', async (t) => {
    const { port } = await serverFor(t);
    const res = await rawUpgrade(port, {});
    assert.equal(res.status, 426);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = json(res.body);
    assert.equal(body['error'], 'unsupported-protocol');
    assert.deepEqual(body['supported'], [V1]);
  });

  test('only unknown subprotocols offered → 426 with the supported list', async (t) => {
    const { port } = await serverFor(t);
    const res = await rawUpgrade(port, { 'Sec-WebSocket-Protocol': 'p2p-call.v0, chat, p2p-call.v2' });
    assert.equal(res.status, 426);
    const body = json(res.body);
    assert.equal(body['error'], 'unsupported-protocol');
    assert.deepEqual(body['supported'], [V1]);
  });

  test('a WebSocket client offering nothing is refused with HTTP 426', async (t) => {
    const { wsUrl } = await serverFor(t);
    await assert.rejects(TestClient.connect(wsUrl, { protocols: [] }), /unexpected HTTP 426/);
  });

  test('offering p2p-call.v0 and p2p-call.v1 → 101 selecting p2p-call.v1', async (t) => {
    const { port } = await serverFor(t);
    const res = await rawUpgrade(port, { 'Sec-WebSocket-Protocol': 'p2p-call.v0, p2p-call.v1' });
    assert.equal(res.status, 101);
    assert.equal(res.headers['sec-websocket-protocol'], V1);
  });

  test('a ws client offering [v0, v1] gets socket.protocol p2p-call.v1 and is served', async (t) => {
    const { wsUrl } = await serverFor(t);
    const client = await clientFor(t, wsUrl, { protocols: ['p2p-call.v0', V1] });
    assert.equal(client.socket.protocol, V1);
    await client.expectQuiet();
  });
});

describe('origin allow-list: a listed Origin or none is accepted, any other gets 403', () => {
  const allowed = { allowedOrigins: ['https://a.example'] };

  test('Origin https://b.example → 403 forbidden-origin', async (t) => {
    const { port } = await serverFor(t, allowed);
    const res = await rawUpgrade(port, { 'Sec-WebSocket-Protocol': V1, Origin: 'https://b.example' });
    assert.equal(res.status, 403);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(json(res.body)['error'], 'forbidden-origin');
  });

  test('an Origin that only shares a prefix (https://a.example.evil.test) → 403', async (t) => {
    const { port } = await serverFor(t, allowed);
    const res = await rawUpgrade(port, { 'Sec-WebSocket-Protocol': V1, Origin: 'https://a.example.evil.test' });
    assert.equal(res.status, 403);
    assert.equal(json(res.body)['error'], 'forbidden-origin');
  });

  test('Origin https://a.example is accepted', async (t) => {
    const { port, wsUrl } = await serverFor(t, allowed);
    const res = await rawUpgrade(port, { 'Sec-WebSocket-Protocol': V1, Origin: 'https://a.example' });
    assert.equal(res.status, 101);
    const client = await clientFor(t, wsUrl, { origin: 'https://a.example' });
    await client.expectQuiet();
  });

  test('no Origin header is accepted', async (t) => {
    const { port, wsUrl } = await serverFor(t, allowed);
    const res = await rawUpgrade(port, { 'Sec-WebSocket-Protocol': V1 });
    assert.equal(res.status, 101);
    const client = await clientFor(t, wsUrl);
    await client.expectQuiet();
  });

  test('by default any Origin is accepted', async (t) => {
    const { port, wsUrl } = await serverFor(t);
    const res = await rawUpgrade(port, { 'Sec-WebSocket-Protocol': V1, Origin: 'https://anything.example' });
    assert.equal(res.status, 101);
    const client = await clientFor(t, wsUrl, { origin: 'https://b.example' });
    await client.expectQuiet();
  });
});

describe('upgrade path: only /ws is the signaling endpoint', () => {
  test('an upgrade on another path is not upgraded (4xx)', async (t) => {
    const { port } = await serverFor(t);
    const res = await rawUpgrade(port, { 'Sec-WebSocket-Protocol': V1 }, '/other');
    assert.ok(res.status >= 400 && res.status < 500, `expected 4xx, got ${res.status}`);
  });

  test('an upgrade on /ws/extra is not upgraded (4xx)', async (t) => {
    const { port } = await serverFor(t);
    const res = await rawUpgrade(port, { 'Sec-WebSocket-Protocol': V1 }, '/ws/extra');
    assert.ok(res.status >= 400 && res.status < 500, `expected 4xx, got ${res.status}`);
  });
});

describe('HTTP routes: /healthz, the page at /, 404 elsewhere', () => {
  test('GET /healthz → 200 JSON ok:true with protocols [p2p-call.v1] and ACAO *', async (t) => {
    const { httpUrl } = await serverFor(t);
    const res = await httpGet(`${httpUrl}/healthz`, { Origin: 'https://elsewhere.example' });
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-type')), /^application\/json/);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const body = json(res.body);
    assert.equal(body['ok'], true);
    assert.deepEqual(body['protocols'], [V1]);
  });

  test('GET / → 200 text/html mentioning p2p-call', async (t) => {
    const { httpUrl } = await serverFor(t);
    const res = await httpGet(`${httpUrl}/`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-type')), /^text\/html/);
    assert.ok(res.body.includes('p2p-call'), 'the page mentions p2p-call');
  });

  test('GET an unknown path → 404', async (t) => {
    const { httpUrl } = await serverFor(t);
    const res = await httpGet(`${httpUrl}/no-such-page`);
    assert.equal(res.status, 404);
  });
});

describe('attach mode: the server shares a host application\'s http.Server', () => {
  /**
   * Cleanups run last-in first-out: clients, then the signaling server, then the host (whose
   * close() waits for every socket it ever accepted, upgraded ones included).
   */
  function cleanupStack(t: TestContext): (fn: () => unknown) => void {
    const stack: (() => unknown)[] = [];
    t.after(async () => {
      for (const fn of stack.reverse()) await fn();
    });
    return (fn) => stack.push(fn);
  }

  async function hostApp(defer: (fn: () => unknown) => void): Promise<{ host: Server; port: number }> {
    const host = createServer((_req, res) => {
      res.end('host app');
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', () => resolve()));
    defer(
      () =>
        new Promise<void>((resolve) => {
          host.close(() => resolve());
          host.closeAllConnections();
        }),
    );
    return { host, port: (host.address() as AddressInfo).port };
  }

  async function connect(defer: (fn: () => unknown) => void, url: string): Promise<TestClient> {
    const client = await TestClient.connect(url);
    defer(() => client.drop());
    return client;
  }

  test('clients join via /ws while the host\'s own routes still answer "host app"', async (t) => {
    const defer = cleanupStack(t);
    const { host, port } = await hostApp(defer);
    const signaling = createSignalingServer({ server: host, logLevel: 'silent' });
    defer(() => signaling.close());
    assert.equal(signaling.httpServer, host);

    const wsUrl = `ws://127.0.0.1:${port}/ws`;
    const a = await connect(defer, wsUrl);
    const b = await connect(defer, wsUrl);
    const joinedA = await a.join('attached');
    const joinedB = await b.join('attached');
    assert.deepEqual(joinedB.peers, [joinedA.peerId]);
    assert.equal((await a.next('peer-joined')).peerId, joinedB.peerId);
    a.send({ type: 'signal', data: { hello: 'attached' } });
    const relayed = await b.next('signal');
    assert.equal(relayed.from, joinedA.peerId);
    assert.deepEqual(relayed.data, { hello: 'attached' });

    for (const path of ['/', '/app/route', '/healthz-of-host']) {
      const res = await httpGet(`http://127.0.0.1:${port}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.body, 'host app', path);
    }
    assert.equal(signaling.stats().connections, 2);
    assert.equal(signaling.stats().rooms, 1);
  });

  test('the subprotocol is still checked on an attached server (426)', async (t) => {
    const defer = cleanupStack(t);
    const { host, port } = await hostApp(defer);
    const signaling = createSignalingServer({ server: host, logLevel: 'silent' });
    defer(() => signaling.close());
    const res = await rawUpgrade(port, {});
    assert.equal(res.status, 426);
    assert.equal(json(res.body)['error'], 'unsupported-protocol');
  });

  test('close() ends the signaling sockets (server-shutdown, 1001) and leaves the host serving', async (t) => {
    const defer = cleanupStack(t);
    const { host, port } = await hostApp(defer);
    const signaling = createSignalingServer({ server: host, logLevel: 'silent' });
    const client = await connect(defer, `ws://127.0.0.1:${port}/ws`);
    await client.join('attached-close');
    await signaling.close();
    await client.nextError('server-shutdown');
    assert.equal((await client.closed).code, 1001);
    const res = await httpGet(`http://127.0.0.1:${port}/`);
    assert.equal(res.body, 'host app');
    assert.equal(host.listening, true);
    // Upgrades on the host are no longer the signaling server's to accept.
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, V1);
    defer(() => socket.terminate());
    const outcome = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('no answer'), 500);
      socket.once('open', () => resolve('open'));
      socket.once('error', () => resolve('error'));
      socket.once('unexpected-response', () => resolve('refused'));
      socket.once('close', () => clearTimeout(timer));
    });
    assert.notEqual(outcome, 'open');
  });
});
