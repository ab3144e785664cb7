/**
 * `npm run test:soak`: a long run against one in-process server, reporting whether anything
 * grows that should not.
 *
 * 1. ≥ 100,000 fuzzed frames (valid, mutated, binary, fragmented, oversize) from rotating clients,
 *    with the seat invariants checked as it goes;
 * 2. 20,000 join → signal → leave cycles of a pair;
 * 3. 30 minutes of heartbeating idle sockets (`--quick`: about a minute in all).
 *
 * After each phase: V8 heap after a forced GC, active handles and timers. Exits 1 if the heap
 * after GC grew by more than the allowance or handles did not return to the baseline.
 * Run with `node --expose-gc --import tsx test/soak/soak.ts [--quick]`.
 */
import fc from 'fast-check';
import { checkInvariants, frame, type Frame } from '../server/fuzz.js';
import { TestClient, startServer } from '../server/helpers.js';

const quick = process.argv.includes('--quick');
const FRAMES = quick ? 10_000 : 100_000;
const CYCLES = quick ? 2_000 : 20_000;
const IDLE_MS = quick ? 20_000 : 30 * 60_000;
const IDLE_SOCKETS = quick ? 200 : 1_000;
/** Heap growth after GC tolerated between the first and the last reading (noise, JIT, caches). */
const HEAP_ALLOWANCE_BYTES = 8 * 1024 * 1024;
const GRACE_MS = 500;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}

interface Reading {
  phase: string;
  heapMiB: number;
  handles: Record<string, number>;
}

const readings: Reading[] = [];

async function reading(phase: string): Promise<Reading> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const handles: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) handles[kind] = (handles[kind] ?? 0) + 1;
  const entry = { phase, heapMiB: Math.round((process.memoryUsage().heapUsed / 1048576) * 100) / 100, handles };
  readings.push(entry);
  process.stdout.write(`${phase.padEnd(28)} heap ${entry.heapMiB.toFixed(2)} MiB  handles ${JSON.stringify(handles)}\n`);
  return entry;
}

function send(client: TestClient, item: Frame): void {
  if (client.socket.readyState !== client.socket.OPEN) return;
  if (item.kind === 'text') client.sendRaw(item.text);
  else if (item.kind === 'binary') client.sendRaw(Buffer.from(item.bytes));
  else if (item.kind === 'fragmented') {
    const middle = Math.floor(item.text.length / 2);
    client.socket.send(item.text.slice(0, middle), { fin: false });
    client.socket.send(item.text.slice(middle), { fin: true });
  } else client.drop();
}

async function settle(clients: TestClient[]): Promise<void> {
  await Promise.all(clients.map(async (client) => {
    if (client.socket.readyState !== client.socket.OPEN) return;
    client.send({ type: 'ping' });
    await client.next('pong', 10_000).catch(() => undefined);
  }));
}

async function main(): Promise<void> {
  const server = await startServer({
    reconnectGraceMs: GRACE_MS,
    maxPayload: 16 * 1024,
    maxConnectionsPerIp: 100_000,
    maxConnections: 100_000,
    // Every client of the soak comes from 127.0.0.1, a thousand at once.
    maxPendingConnections: 100_000,
    maxPendingConnectionsPerIp: 100_000,
    pingIntervalMs: 1_000,
    rateLimit: 100_000,
  });
  const baseline = await reading('baseline');

  // 1. Fuzzed frames, four clients at a time.
  let sent = 0;
  const started = Date.now();
  while (sent < FRAMES) {
    const clients = await Promise.all([0, 1, 2, 3].map(() => TestClient.connect(server.wsUrl, { waitMs: 10_000 })));
    for (const [index, item] of fc.sample(fc.tuple(fc.nat(3), frame), 200)) send(clients[index] as TestClient, item);
    sent += 200;
    await settle(clients);
    for (const client of clients) client.drop();
    if ((sent / 200) % 25 === 0) checkInvariantsSoon(server.server);
  }
  process.stdout.write(`fuzz: ${sent} frames in ${Math.round((Date.now() - started) / 1000)} s\n`);
  await new Promise((resolve) => setTimeout(resolve, GRACE_MS * 3));
  checkInvariants(server.server, GRACE_MS);
  await reading('after fuzz');

  // 2. Join → signal → leave cycles on one pair of sockets.
  const a = await TestClient.connect(server.wsUrl, { waitMs: 10_000 });
  const b = await TestClient.connect(server.wsUrl, { waitMs: 10_000 });
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const room = `cycle-${cycle % 97}`;
    await a.join(room);
    await b.join(room);
    await a.next('peer-joined');
    a.send({ type: 'signal', data: { cycle, sdp: 'v=0' } });
    await b.next('signal');
    a.send({ type: 'leave' });
    await b.next('peer-left');
    b.send({ type: 'leave' });
    await b.expectQuiet();
  }
  a.drop();
  b.drop();
  await new Promise((resolve) => setTimeout(resolve, 200));
  process.stdout.write(`cycles: ${CYCLES}\n`);
  await reading('after join/leave cycles');

  // 3. Idle sockets answering heartbeats.
  const idle = await Promise.all(Array.from({ length: IDLE_SOCKETS }, () => TestClient.connect(server.wsUrl, { waitMs: 10_000 })));
  const idleStart = Date.now();
  const during: Reading[] = [];
  while (Date.now() - idleStart < IDLE_MS) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(60_000, IDLE_MS / 4)));
    during.push(await reading(`idle ${Math.round((Date.now() - idleStart) / 1000)} s`));
  }
  const open = idle.filter((client) => client.socket.readyState === client.socket.OPEN).length;
  process.stdout.write(`idle: ${open}/${IDLE_SOCKETS} sockets still open after ${Math.round(IDLE_MS / 1000)} s\n`);
  for (const client of idle) client.drop();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const end = await reading('end');
  await server.close();

  const heapGrowth = (end.heapMiB - baseline.heapMiB) * 1048576;
  const idleGrowth = during.length > 1 ? ((during.at(-1) as Reading).heapMiB - (during[0] as Reading).heapMiB) * 1048576 : 0;
  const sockets = (reading: Reading) => (reading.handles['TCPSocketWrap'] ?? 0) + (reading.handles['TCPServerWrap'] ?? 0);
  const problems: string[] = [];
  if (heapGrowth > HEAP_ALLOWANCE_BYTES) problems.push(`heap after GC grew ${(heapGrowth / 1048576).toFixed(1)} MiB`);
  if (idleGrowth > HEAP_ALLOWANCE_BYTES) problems.push(`heap grew ${(idleGrowth / 1048576).toFixed(1)} MiB while idle`);
  if (sockets(end) > sockets(baseline)) problems.push(`sockets: ${sockets(baseline)} at start, ${sockets(end)} at the end`);
  if (open !== IDLE_SOCKETS) problems.push(`${IDLE_SOCKETS - open} idle sockets were dropped despite answering pings`);
  process.stdout.write(problems.length === 0 ? 'soak: flat\n' : `soak: ${problems.join('; ')}\n`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

/** The invariants hold once in-flight closes have been handled. */
function checkInvariantsSoon(server: Parameters<typeof checkInvariants>[0]): void {
  setTimeout(() => checkInvariants(server, GRACE_MS), 100);
}

await main();
