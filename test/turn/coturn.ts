/**
 * Debian's coturn (`turnserver`) for one test: TURN REST auth (`--use-auth-secret`) on 127.0.0.1,
 * a listening port and a relay port range picked at run time, its own temp dir (pid file, SQLite
 * db, nothing under /var), ready when it answers a STUN Binding over UDP and accepts TCP, and
 * stopped with SIGTERM (SIGKILL after a bound) when the test is done.
 *
 * coturn binds its listeners with SO_REUSEPORT, so a second coturn on the same port starts
 * without any error and the kernel splits the traffic between the two. A port being free at
 * pick time is therefore not enough: after start we check in /proc that every socket on our
 * listening port belongs to our process, and start again on other ports if not (bounded).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeRelayRange, freeTcpUdpPort } from '../ports.js';
import { stunBinding } from './stun.js';

export const TURNSERVER = process.env['TURNSERVER_PATH'] ?? '/usr/bin/turnserver';
const HOST = '127.0.0.1';

export interface CoturnOptions {
  /** The `static-auth-secret` (the signaling server's `turnSecret` when they should agree). */
  secret: string;
  realm?: string;
  /** More turnserver flags, e.g. `--max-allocate-lifetime=20`, `--stale-nonce=3`, `-v`. */
  extraArgs?: string[];
  /** How many relay ports (default 40: a handful of allocations per test is all we need). */
  relayPorts?: number;
  /** Bound on each start attempt, until it answers (default 10 s). */
  readyTimeoutMs?: number;
  /**
   * Reuse these ports instead of picking new ones, e.g. to restart a TURN server in place under
   * a running call. Then there is a single attempt: a clash is an error, not a retry.
   */
  ports?: { port: number; minPort: number; maxPort: number };
}

export interface Coturn {
  host: string;
  port: number;
  minPort: number;
  maxPort: number;
  secret: string;
  realm: string;
  pid: number;
  /** Everything coturn logged so far. */
  log(): string;
  /**
   * Resolves with the log lines matching `pattern` once there are `count` of them (default 1),
   * counting from character `since` of the log (default 0: the whole log).
   */
  waitForLog(pattern: RegExp, options?: { since?: number; count?: number; timeoutMs?: number }): Promise<string[]>;
  /** SIGTERM, wait for the exit (SIGKILL after 5 s), remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const MAX_ATTEMPTS = 4;

/** Starts coturn on free ports (or `options.ports`); retries on a port clash, at most {@link MAX_ATTEMPTS} times. */
export async function startCoturn(options: CoturnOptions): Promise<Coturn> {
  const problems: string[] = [];
  const attempts = options.ports ? 1 : MAX_ATTEMPTS;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = options.ports?.port ?? (await freeTcpUdpPort());
    const { min: minPort, max: maxPort } = options.ports ? { min: options.ports.minPort, max: options.ports.maxPort } : await freeRelayRange(options.relayPorts ?? 40, port);
    const { turn, exited } = await launch(options, port, minPort, maxPort);
    try {
      await waitReady(turn, exited, options.readyTimeoutMs ?? 10_000);
      const foreign = foreignSockets(port, turn.pid);
      if (foreign.length === 0) return turn;
      problems.push(`attempt ${attempt}: port ${port} is shared with another process (${foreign.join(', ')})`);
    } catch (error) {
      problems.push(`attempt ${attempt}: ${(error as Error).message}`);
    }
    await turn.stop();
  }
  throw new Error(`coturn did not start:\n${problems.join('\n')}`);
}

async function launch(options: CoturnOptions, port: number, minPort: number, maxPort: number): Promise<{ turn: Coturn; exited: Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-call-coturn-'));
  const realm = options.realm ?? 'test';
  const args = [
    '-n',
    '-L', HOST,
    '--listening-port', String(port),
    '-E', HOST,
    '--use-auth-secret',
    `--static-auth-secret=${options.secret}`,
    `--realm=${realm}`,
    '--no-tls', '--no-dtls', '--no-cli',
    '--allow-loopback-peers',
    '--fingerprint',
    '--min-port', String(minPort),
    '--max-port', String(maxPort),
    '--pidfile', join(dir, 'turnserver.pid'),
    '--db', join(dir, 'turndb'),
    '--log-file', 'stdout',
    '--simple-log',
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(TURNSERVER, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    // Kept whole: a test's coturn lives seconds, and offsets into the log must stay valid.
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  // 'exit' may not come after a spawn error: that ends the process's life too.
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    void spawnError.then(() => resolve());
  });
  // If the test runner dies before `stop()`, do not leave a TURN server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopped: Promise<void> | undefined;
  const turn: Coturn = {
    host: HOST,
    port,
    minPort,
    maxPort,
    secret: options.secret,
    realm,
    pid: child.pid ?? -1,
    log: () => output,
    waitForLog(pattern, { since = 0, count = 1, timeoutMs = 10_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const lines = output.slice(since).split('\n').filter((l) => pattern.test(l));
          if (lines.length < count) return;
          cleanup();
          resolve(lines);
        };
        const timer = setTimeout(() => {
          cleanup();
          const seen = output.slice(since).split('\n').filter((l) => pattern.test(l)).length;
          reject(new Error(`coturn logged ${seen} of ${count} lines matching ${pattern} within ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    stop() {
      stopped ??= (async () => {
        process.off('exit', killOnExit);
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
  if (child.pid === undefined) {
    const error = await spawnError;
    await turn.stop();
    throw new Error(`cannot run ${TURNSERVER}: ${error.message} (apt-get install coturn)`);
  }
  return { turn, exited };
}

/** Waits until coturn answers a STUN Binding on UDP and accepts a TCP connection, or exits. */
async function waitReady(turn: Coturn, exited: Promise<void>, timeoutMs: number): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  let udp = false;
  let tcp = false;
  while (!(udp && tcp)) {
    if (gone) throw new Error(`turnserver exited during start:\n${turn.log().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`turnserver did not answer on ${HOST}:${turn.port} within ${timeoutMs} ms:\n${turn.log().slice(-3000)}`);
    // Each probe is itself bounded (a Binding retransmitted for 300 ms, a TCP connect), so
    // this loop waits on the server's answer rather than on a fixed delay.
    udp ||= (await stunBinding({ address: HOST, port: turn.port }, 300).catch(() => undefined)) !== undefined;
    tcp ||= await tcpConnects(turn.port);
    if (!(udp && tcp)) await Promise.race([exited, new Promise((r) => setTimeout(r, 100))]);
  }
}

function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Inodes of sockets bound to 127.0.0.1:`port` (TCP listen or UDP) that `pid` does not own. */
function foreignSockets(port: number, pid: number): string[] {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes: string[] = [];
  for (const table of ['/proc/net/udp', '/proc/net/tcp']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local rem st ... inode (10th field); for TCP only listeners (state 0A) matter.
      if (fields[1] !== local) continue;
      if (table.endsWith('tcp') && fields[3] !== '0A') continue;
      if (fields[9] !== undefined) inodes.push(fields[9]);
    }
  }
  const own = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match?.[1]) own.add(match[1]);
    } catch {
      // The fd closed while we looked.
    }
  }
  return inodes.filter((inode) => !own.has(inode));
}
