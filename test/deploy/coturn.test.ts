/**
 * deploy/turnserver.conf and deploy/p2p-call.env, run for real: coturn started from a config
 * derived from the shipped file (test secret, certificate and ports, loopback only, loopback
 * peers allowed for the test), the signaling server started by its CLI with the variables of
 * the shipped environment file. Checked: the TLS listener and an allocation over it (`turns:`),
 * allocations with credentials the server's formula mints (and 401 for wrong or expired ones),
 * every denied-peer-ip range at its edges, the SIGUSR2 certificate reload the certbot hook
 * relies on, and a relay-only call between two demo pages.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { mintTurnCredentials } from '../../server/turn-credentials.js';
import { launchChromium } from '../e2e/browser.js';
import { errorsOn, hangUpAndClose, joinCall, openDemo, remoteFramesAdvance, statsWithCandidate, waitState } from './demo-call.js';
import {
  ROOT, Workspace, deployFile, deriveEnv, deriveTurnserverConf, makeCertificate,
  parseEnvFile, startProcess, substitute, turnOptions, waitForTcp, type Certificate, type ManagedProcess,
} from './helpers.js';
import { freeRelayRange, freeTcpPort, freeTcpUdpPort } from '../ports.js';
import { Attr, Method, TurnSession, attr, decode, encode, formatIp, parseIp, readXorAddress, request, status, type IpNumber, type LongTermAuth, type StunMessage } from '../turn/stun.js';

const SECRET = 'deploy-test-turn-secret-0123456789';

let ws: Workspace;
let cert: Certificate;
let turnPort: number;
let turnTlsPort: number;
let coturn: ManagedProcess;
let signaling: ManagedProcess;
let signalingUrl: string;
let browser: Browser | undefined;
let derivedConf: string;

before(async () => {
  ws = new Workspace('coturn');
  cert = makeCertificate(ws);
  turnPort = await freeTcpUdpPort();
  turnTlsPort = await freeTcpPort([turnPort]);
  derivedConf = deriveTurnserverConf(deployFile('turnserver.conf'), {
    secret: SECRET, port: turnPort, tlsPort: turnTlsPort, relay: await freeRelayRange(100, turnTlsPort), cert, ws,
  });
  const confFile = ws.write('turnserver.conf', derivedConf);
  coturn = startProcess('turnserver', ['-c', confFile]);
  await waitForTcp(turnPort, 5_000, () => coturn.running());
  await waitForTcp(turnTlsPort, 5_000, () => coturn.running());

  // The signaling server as the unit starts it: the CLI, configured only by the env file.
  const envText = deployFile('p2p-call.env');
  const shipped = parseEnvFile(envText);
  const toLoopback = (value: string, what: string, turnCount: number, tlsCount: number) => {
    let local = substitute(value, `deploy/p2p-call.env ${what}`, /turn\.example\.com:3478/g, `127.0.0.1:${turnPort}`, turnCount);
    if (tlsCount > 0) local = substitute(local, `deploy/p2p-call.env ${what}`, /turn\.example\.com:5349/g, `127.0.0.1:${turnTlsPort}`, tlsCount);
    return local;
  };
  const env = deriveEnv(envText, {
    PORT: '0',
    P2P_TURN_SECRET: SECRET,
    P2P_TURN_URLS: toLoopback(shipped.get('P2P_TURN_URLS') ?? '', 'P2P_TURN_URLS', 2, 1),
    P2P_STUN_URLS: toLoopback(shipped.get('P2P_STUN_URLS') ?? '', 'P2P_STUN_URLS', 1, 0),
  });
  signaling = startProcess(process.execPath, ['dist/server/cli.js'], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env } });
  const listening = await signaling.waitForOutput(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/);
  signalingUrl = listening[1] as string;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await signaling?.stop();
  await coturn?.stop();
  ws?.remove();
});

/** A TURN session with credentials minted by the server's own function. */
function client(id: string, ttl = 600, secret = SECRET, nowMs = Date.now()): Promise<TurnSession> {
  const { username, credential } = mintTurnCredentials(secret, [], id, ttl, nowMs);
  return TurnSession.open({ address: '127.0.0.1', port: turnPort }, username, credential);
}

/** Allocates a relay of `family`; resolves with the address coturn announces for it. */
async function relayedAddress(session: TurnSession, family: 4 | 6): Promise<string> {
  const answer = await session.allocate(family);
  assert.equal(status(answer), 200, `Allocate an IPv${family} relay`);
  const relayed = readXorAddress(attr(answer, Attr.xorRelayedAddress), answer.transactionId);
  assert.ok(relayed, 'the success answer carries XOR-RELAYED-ADDRESS');
  return relayed.address;
}

/**
 * An Allocate over TURN-over-TLS (`turns:` on the TLS port), as a browser behind a firewall that
 * lets only TLS out would ask: the 401 challenge, then the request with the credential. Closing
 * the connection releases the allocation (coturn ends a TCP/TLS allocation with its connection).
 */
async function allocateOverTls(username: string, password: string): Promise<StunMessage> {
  const socket = tlsConnect({ host: '127.0.0.1', port: turnTlsPort, ca: cert.pem });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    // STUN over a stream: messages back to back, each 20 header bytes plus its length field.
    let pending = Buffer.alloc(0);
    const answers: StunMessage[] = [];
    let arrived = () => {};
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 20 && pending.length >= 20 + pending.readUInt16BE(2)) {
        const message = decode(pending.subarray(0, 20 + pending.readUInt16BE(2)));
        pending = pending.subarray(20 + pending.readUInt16BE(2));
        if (message) answers.push(message);
      }
      arrived();
    });
    const transact = async (message: StunMessage, auth?: LongTermAuth): Promise<StunMessage> => {
      socket.write(encode(message, auth));
      const deadline = Date.now() + 5_000;
      for (;;) {
        const answer = answers.find((a) => a.transactionId.equals(message.transactionId));
        if (answer) return answer;
        if (Date.now() > deadline) throw new Error('no answer over TLS within 5 s');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 500);
          arrived = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    };
    const udpRelay = [{ type: Attr.requestedTransport, value: Buffer.from([17, 0, 0, 0]) }];
    const challenge = await transact(request(Method.allocate, udpRelay));
    assert.equal(status(challenge), 401, 'the challenge');
    const auth = { username, password, realm: attr(challenge, Attr.realm)?.toString() ?? '', nonce: attr(challenge, Attr.nonce)?.toString() ?? '' };
    return await transact(request(Method.allocate, udpRelay), auth);
  } finally {
    socket.destroy();
  }
}

/** Releases each session's allocation (Refresh with lifetime 0) and closes its socket. */
async function release(...sessions: Array<TurnSession | undefined>): Promise<void> {
  for (const session of sessions) {
    // Best effort: an allocation that is not released times out on its own.
    await session?.refresh(0).catch(() => undefined);
    await session?.close();
  }
}

interface Range {
  text: string;
  lo: IpNumber;
  hi: IpNumber;
}

function deniedRanges(conf: string): Range[] {
  return turnOptions(conf).filter((o) => o.name === 'denied-peer-ip').map((o) => {
    const [lo, hi = lo] = (o.value as string).split('-') as [string, string?];
    return { text: o.value as string, lo: parseIp(lo), hi: parseIp(hi as string) };
  });
}

const inRanges = (ranges: Range[], ip: IpNumber) => ranges.some((r) => r.lo.family === ip.family && r.lo.value <= ip.value && ip.value <= r.hi.value);

/** IANA special-purpose and non-public ranges a relay on a public server must not reach. */
const MUST_DENY: Array<[string, string, string]> = [
  ['0.0.0.0', '0.255.255.255', '"this network" 0/8'],
  ['10.0.0.0', '10.255.255.255', 'RFC 1918 10/8'],
  ['100.64.0.0', '100.127.255.255', 'CGNAT 100.64/10'],
  ['127.0.0.0', '127.255.255.255', 'loopback 127/8'],
  ['169.254.0.0', '169.254.255.255', 'link-local 169.254/16'],
  ['172.16.0.0', '172.31.255.255', 'RFC 1918 172.16/12'],
  ['192.0.0.0', '192.0.0.255', 'IETF 192.0.0/24'],
  ['192.0.2.0', '192.0.2.255', 'TEST-NET-1'],
  ['192.168.0.0', '192.168.255.255', 'RFC 1918 192.168/16'],
  ['198.18.0.0', '198.19.255.255', 'benchmarking 198.18/15'],
  ['198.51.100.0', '198.51.100.255', 'TEST-NET-2'],
  ['203.0.113.0', '203.0.113.255', 'TEST-NET-3'],
  ['224.0.0.0', '239.255.255.255', 'multicast 224/4'],
  ['240.0.0.0', '255.255.255.255', 'reserved 240/4 + broadcast'],
  ['::1', '::1', 'IPv6 loopback'],
  ['::ffff:0.0.0.0', '::ffff:255.255.255.255', 'IPv4-mapped ::ffff:0:0/96'],
  ['64:ff9b::', '64:ff9b::ffff:ffff', 'NAT64 64:ff9b::/96'],
  ['100::', '100::ffff:ffff:ffff:ffff', 'discard-only 100::/64'],
  ['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'documentation 2001:db8::/32'],
  ['2002::', '2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '6to4 2002::/16'],
  ['fc00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'unique local fc00::/7'],
  ['fe80::', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'link-local fe80::/10'],
  ['ff00::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'multicast ff00::/8'],
];

describe('coturn with deploy/turnserver.conf', () => {
  test('the shipped file: placeholders marked, options as documented, every special range denied', () => {
    const shipped = deployFile('turnserver.conf');
    const options = turnOptions(shipped);
    const value = (name: string) => options.find((o) => o.name === name)?.value;
    const has = (name: string) => options.some((o) => o.name === name);
    for (const flag of ['use-auth-secret', 'fingerprint', 'no-cli', 'no-multicast-peers', 'no-tlsv1', 'no-tlsv1_1', 'simple-log']) {
      assert.ok(has(flag), `${flag} is set`);
    }
    assert.ok(!has('allow-loopback-peers'), 'loopback peers stay refused in production');
    assert.match(value('static-auth-secret') ?? '', /^CHANGE-ME/);
    assert.match(value('external-ip') ?? '', /^CHANGE-ME-public-ipv4\/CHANGE-ME-local-ipv4$/);
    assert.equal(value('listening-port'), '3478');
    assert.equal(value('tls-listening-port'), '5349');
    assert.equal(value('realm'), 'turn.example.com');
    assert.match(value('cert') ?? '', /^\/etc\/coturn\/certs\/fullchain\.pem$/);
    assert.match(value('pkey') ?? '', /^\/etc\/coturn\/certs\/privkey\.pem$/);
    assert.match(value('log-file') ?? '', /^\/var\/log\/coturn\//);
    const min = Number(value('min-port'));
    const max = Number(value('max-port'));
    assert.ok(min >= 49152 && max > min && max <= 65535, `relay range ${min}-${max}`);
    assert.ok(Number(value('user-quota')) > 0 && Number(value('total-quota')) >= Number(value('user-quota')));
    // Every option has its own comment on the line above.
    const lines = shipped.split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '' || line.startsWith('#')) return;
      assert.ok(lines[i - 1]?.startsWith('#'), `a comment explains "${line}"`);
    });

    const ranges = deniedRanges(shipped);
    for (const range of ranges) {
      assert.ok(range.lo.value <= range.hi.value && range.lo.family === range.hi.family, `${range.text} is a valid range`);
      // coturn treats a range starting at the unspecified address as open-ended: it would deny
      // every address of the other family (seen with ::-::ffff:ffff denying 8.8.8.8).
      if (range.lo.family === 6) assert.notEqual(range.lo.value, 0n, `${range.text} must not start at ::`);
    }
    for (const [lo, hi, what] of MUST_DENY) {
      const from = parseIp(lo);
      const to = parseIp(hi);
      const covered = ranges.some((r) => r.lo.family === from.family && r.lo.value <= from.value && to.value <= r.hi.value);
      assert.ok(covered, `${what} (${lo}-${hi}) is inside one denied-peer-ip range`);
    }
  });

  test('the test derivation fails loudly when the shipped file loses a line it rewrites', () => {
    const shipped = deployFile('turnserver.conf');
    const options = { secret: SECRET, port: 1, tlsPort: 2, relay: { min: 3, max: 4 }, cert, ws };
    assert.throws(() => deriveTurnserverConf(shipped.replace(/^tls-listening-port=5349$/m, '#tls-listening-port=5349'), options), /deploy\/turnserver\.conf: expected 1 match/);
    assert.throws(() => deriveTurnserverConf(shipped.replace(/^denied-peer-ip=127\.0\.0\.0-127\.255\.255\.255$/m, ''), options), /expected 1 match/);
  });

  test('coturn accepts the derived file without complaint and listens with TLS 1.2+ on the TLS port', async () => {
    assert.doesNotMatch(coturn.output(), /CONFIG ERROR|Unknown (argument|option)|Bad configuration|cannot (find|open)/i, coturn.output());
    const socket = tlsConnect({ host: '127.0.0.1', port: turnTlsPort, ca: cert.pem });
    const [protocol, authorized] = await new Promise<[string | null, boolean]>((resolve, reject) => {
      socket.once('secureConnect', () => resolve([socket.getProtocol(), socket.authorized]));
      socket.once('error', reject);
    });
    socket.destroy();
    assert.equal(authorized, true, 'the certificate from cert=/pkey= is presented');
    assert.ok(protocol === 'TLSv1.3' || protocol === 'TLSv1.2', `negotiated ${protocol}`);
  });

  test('turns: a server-minted credential gets a relay over TLS on the TLS port', async () => {
    const { username, credential } = mintTurnCredentials(SECRET, [], 'over-tls', 600);
    const answer = await allocateOverTls(username, credential);
    assert.equal(status(answer), 200, 'Allocate over TLS');
    assert.equal(readXorAddress(attr(answer, Attr.xorRelayedAddress), answer.transactionId)?.address, '127.0.0.1', 'a relay at external-ip');
    const { username: wrongUser, credential: wrong } = mintTurnCredentials('another-secret-0123456789abcdef', [], 'over-tls', 600);
    assert.equal(status(await allocateOverTls(wrongUser, wrong)), 401, 'and a wrong credential is refused there too');
  });

  test('allocations with server-minted credentials; the external-ip mapping keeps IPv6 relays intact', async () => {
    const v4 = await client('alloc-v4');
    const v6 = await client('alloc-v6');
    try {
      assert.equal(await relayedAddress(v4, 4), '127.0.0.1', 'IPv4 relay announced at external-ip');
      assert.equal(formatIp(parseIp(await relayedAddress(v6, 6))), formatIp(parseIp('::1')), 'IPv6 relay keeps its own address');
    } finally {
      await release(v4, v6);
    }
  });

  test('a wrong secret or an expired credential is refused with 401', async () => {
    const wrong = await client('wrong', 600, 'another-secret-0123456789abcdef');
    const expired = await client('expired', 60, SECRET, Date.now() - 3_600_000);
    try {
      assert.equal(status(await wrong.allocate()), 401, 'a credential made with another secret');
      assert.equal(status(await expired.allocate()), 401, 'a credential that expired an hour ago');
    } finally {
      await release(wrong, expired);
    }
  });

  test('the credential one-liners of docs/deploy.md mint credentials coturn accepts', async () => {
    const doc = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
    const blocks = [...doc.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
    const nodeLine = blocks.flatMap((b) => b.split('\n')).find((line) => line.includes(' node -e '));
    const opensslBlock = blocks.find((b) => b.includes('openssl dgst -sha1 -hmac'));
    assert.ok(nodeLine && opensslBlock, 'both one-liners are in the page');
    const confFile = ws.path('turnserver.conf');
    for (const script of [nodeLine, opensslBlock]) {
      const local = substitute(script, 'docs/deploy.md one-liner', /\/etc\/turnserver\.conf/g, confFile);
      const [username, credential] = execFileSync('bash', ['-c', local], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } }).trim().split('\n');
      assert.match(username ?? '', /^\d{10}:test$/);
      const expiry = Number(username?.split(':')[0]);
      assert.ok(Math.abs(expiry - (Date.now() / 1000 + 3600)) < 60, 'valid for an hour');
      assert.equal(credential, mintTurnCredentials(SECRET, [], 'test', expiry - Math.floor(Date.now() / 1000), Math.floor(Date.now() / 1000) * 1000).credential);
      const turn = await TurnSession.open({ address: '127.0.0.1', port: turnPort }, username as string, credential as string);
      try {
        assert.equal(await relayedAddress(turn, 4), '127.0.0.1');
      } finally {
        await release(turn);
      }
    }
  });

  test('every denied-peer-ip range refuses its first and last address; the addresses around it are not refused by it', async () => {
    const ranges = deniedRanges(derivedConf);
    assert.ok(!ranges.some((r) => r.text.startsWith('127.')), 'the test derivation dropped only the 127/8 denial');
    const allocations = { 4: await client('deny-v4'), 6: await client('deny-v6') } as const;
    try {
      await relayedAddress(allocations[4], 4);
      await relayedAddress(allocations[6], 6);
      const max = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n };
      const probes = new Map<string, IpNumber>();
      for (const range of ranges) {
        for (const value of [range.lo.value, range.hi.value, range.lo.value - 1n, range.hi.value + 1n]) {
          // The all-zero address is refused by coturn itself, whatever the list says.
          if (value <= 0n || value > max[range.lo.family]) continue;
          const ip = { family: range.lo.family, value };
          probes.set(formatIp(ip), ip);
        }
      }
      // The loopback address this test relays to, and its IPv4-mapped disguise.
      probes.set('127.0.0.1', parseIp('127.0.0.1'));
      probes.set(formatIp(parseIp('::ffff:127.0.0.1')), parseIp('::ffff:127.0.0.1'));
      const wrong: string[] = [];
      for (const [text, ip] of probes) {
        // Multicast peers are refused by no-multicast-peers as well as by the list.
        const expected = inRanges(ranges, ip) ? 403 : 200;
        // A permission only installs a filter in coturn: nothing is sent to these addresses.
        const answer = status(await allocations[ip.family].createPermission({ address: text, port: 0 }));
        if (answer !== expected) wrong.push(`${text}: ${answer}, expected ${expected}`);
      }
      assert.deepEqual(wrong, [], `${probes.size} peer addresses probed`);
    } finally {
      await release(allocations[4], allocations[6]);
    }
  });

  test('SIGUSR2 (sent by deploy/certbot-deploy-hook.sh) makes coturn re-read cert= and pkey=, keeping allocations', async () => {
    const existing = await client('before-reload');
    try {
      await relayedAddress(existing, 4);
      coturn.child.kill('SIGUSR2');
      await coturn.waitForOutput(/Reloading TLS certificates and keys/, 5_000);
      assert.ok(coturn.running());
      assert.equal(status(await existing.createPermission({ address: '127.0.0.1', port: 0 })), 200, 'the allocation made before the reload still works');
    } finally {
      await release(existing);
    }
  });

  test('a relay-only call between two demo pages connects through it', async () => {
    assert.ok(browser);
    const room = `relay-${Date.now()}`;
    const pages = [await openDemo(browser, `${signalingUrl}/r/${room}`), await openDemo(browser, `${signalingUrl}/r/${room}`)];
    try {
      for (const page of pages) {
        // Never reveal a host or server-reflexive address: only relayed paths can succeed.
        await page.evaluate(() => document.querySelector('p2p-call')?.setAttribute('ice-transport-policy', 'relay'));
      }
      await joinCall(pages[0]!, 'button');
      await waitState(pages[0]!, 'waiting');
      await joinCall(pages[1]!, 'method');
      await Promise.all(pages.map((page) => waitState(page, 'connected')));
      for (const page of pages) {
        const stats = await statsWithCandidate(page);
        assert.equal(stats['candidateType'], 'relay', JSON.stringify(stats));
        await remoteFramesAdvance(page);
        assert.deepEqual(await errorsOn(page), []);
      }
    } finally {
      await hangUpAndClose(...pages);
    }
  });
});
