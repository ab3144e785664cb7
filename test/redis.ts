/**
 * Real Redis for the tests (Debian's `redis-server`): one instance, or a 3-master Cluster, on
 * free loopback ports chosen at run time, with no persistence. Stop and start again on the
 * same port to test an outage.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeTcpPort } from './ports.js';

const run = promisify(execFile);
const STARTUP_MS = 10_000;

export interface RedisProcess {
  port: number;
  url: string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** Starts again on the same port (empty: nothing is saved). */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that hangs without closing its sockets. */
  pause(): void;
  resume(): void;
}

/** Starts `redis-server` with `extra` arguments and resolves once it accepts connections. */
function launch(port: number, extra: string[], dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on ${port} did not start within ${STARTUP_MS} ms: ${output}`));
    }, STARTUP_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        // Let the test process end while Redis runs; it is killed on exit.
        child.unref();
        (child.stdout as unknown as { unref?(): void } | null)?.unref?.();
        (child.stderr as unknown as { unref?(): void } | null)?.unref?.();
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on ${port} exited with ${code}: ${output}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  // Waiting for it keeps the test process alive (the running child is unref'd).
  child.ref();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** One Redis on a free port. */
export async function startRedis(extra: string[] = []): Promise<RedisProcess> {
  return redisProcess(await freeTcpPort(), () => extra, 'p2p-redis-');
}

/**
 * A `redis-server` on `port` in a directory of its own (removed at exit), killed when the test
 * process exits; `argsFor(dir)` gives its extra arguments.
 */
async function redisProcess(port: number, argsFor: (dir: string) => string[], prefix: string): Promise<RedisProcess> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const extra = argsFor(dir);
  let child = await launch(port, extra, dir);
  const stopWith = async (signal: NodeJS.Signals) => {
    const done = exited(child);
    child.kill(signal);
    await done;
  };
  process.once('exit', () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    async start() {
      child = await launch(port, extra, dir);
    },
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
  };
}

export interface RedisCluster {
  /** Seed URLs, comma-separated, as `redisUrl` takes them with `redisCluster`. */
  url: string;
  nodes: RedisProcess[];
  stop(): Promise<void>;
}

/**
 * A 3-master Redis Cluster on loopback. Each node also binds its cluster bus on port + 10000,
 * so ports are picked where both are free.
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const nodes: RedisProcess[] = [];
  for (let i = 0; i < 3; i++) {
    for (let tries = 0; ; tries++) {
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      if (!(await portFree(port)) || !(await portFree(port + 10_000))) {
        if (tries > 50) throw new Error('no free port pair for a cluster node');
        continue;
      }
      nodes.push(await startClusterNode(port));
      break;
    }
  }
  const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
  await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
  for (const node of nodes) await waitClusterOk(node.port);
  return {
    url: nodes.map((node) => node.url).join(','),
    nodes,
    async stop() {
      await Promise.all(nodes.map((node) => node.kill()));
    },
  };
}

function startClusterNode(port: number): Promise<RedisProcess> {
  const clusterArgs = (dir: string) => ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000'];
  return redisProcess(port, clusterArgs, 'p2p-redis-cluster-');
}

async function waitClusterOk(port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
    if (stdout.includes('cluster_state:ok')) return;
    if (Date.now() > deadline) throw new Error(`cluster node ${port} not ok: ${stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function portFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
