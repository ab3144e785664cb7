/**
 * Signaling nodes as separate processes (the built `p2p-call-server`), so a test can kill one
 * with SIGKILL or stop it with SIGTERM as an operator or a crash would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/server/cli.js', import.meta.url));
const STARTUP_MS = 15_000;

export interface NodeProcess {
  httpUrl: string;
  wsUrl: string;
  child: ChildProcess;
  /** Everything the node logged (pino JSON lines). */
  readonly log: string[];
  /** Resolves with the exit code (or null when killed by a signal). */
  readonly exited: Promise<number | null>;
  signal(signal: NodeJS.Signals): void;
}

/** Starts `node dist/server/cli.js` on a free port with these environment variables. */
export function startNodeProcess(env: Record<string, string>): Promise<NodeProcess> {
  const child = spawn(process.execPath, [CLI], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', P2P_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: its pipes would keep the test process alive until the file times out.
      child.kill('SIGKILL');
      reject(new Error(`node did not listen within ${STARTUP_MS} ms: ${log.join('\n')}`));
    }, STARTUP_MS);
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        log.push(line);
        const url = listeningUrl(line);
        if (url === undefined) continue;
        clearTimeout(timer);
        resolve({
          httpUrl: url,
          wsUrl: `${url.replace(/^http/, 'ws')}/ws`,
          child,
          log,
          exited,
          signal: (signal) => void child.kill(signal),
        });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code} before listening: ${log.join('\n')}`));
    });
  });
}

function listeningUrl(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    return entry.msg === 'listening' ? entry.url : undefined;
  } catch {
    return undefined;
  }
}
