#!/usr/bin/env node
/**
 * `p2p-call-server` and `npm start`: reads options from flags and environment, starts the
 * server, says where it listens and what is on, and shuts it down gracefully on SIGTERM/SIGINT
 * (exit 0 within 5 s).
 */
import { helpText } from './cli-help.js';
import { ConfigError, readCommandLine, type CommandLine } from './config.js';
import { packageVersion } from './package-root.js';
import { createSignalingServer } from './signaling-server.js';

/** Hard bound on a graceful shutdown: the documented promise is an exit within 5 s. */
const SHUTDOWN_DEADLINE_MS = 4_500;
/** Exit code for a configuration mistake, as for a usage error. */
const EXIT_USAGE = 2;

/**
 * The address a person can open: a wildcard bind (`0.0.0.0`, `::`) is not a place to browse to,
 * the loopback address on the same port is.
 */
function urlToOpen(listening: string): string {
  const url = new URL(listening);
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  if (url.hostname === '[::]') url.hostname = '[::1]';
  return url.href;
}

async function main(argv: string[]): Promise<void> {
  const version = packageVersion();
  let commandLine: CommandLine;
  let server;
  try {
    commandLine = readCommandLine(argv, process.env);
    if (commandLine.help || commandLine.version) {
      process.stdout.write(`${commandLine.help ? helpText(version) : version}\n`);
      return;
    }
    server = createSignalingServer(commandLine.options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`p2p-call-server: ${error.message}\nRun p2p-call-server --help for every option and its default.\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  const running = server;
  const { options } = commandLine;

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    running.log.info({ signal }, 'stopping');
    setTimeout(() => {
      running.log.warn('graceful shutdown took too long; exiting');
      process.exit(0);
    }, SHUTDOWN_DEADLINE_MS).unref();
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        running.log.error({ err: String(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  let url: string;
  try {
    url = await running.listen();
  } catch (error) {
    running.log.fatal({ err: (error as Error).message }, 'cannot listen');
    process.exitCode = 1;
    await running.close();
    return;
  }
  const open = urlToOpen(url);
  const joinTokens = options.tokenSecret !== undefined ? 'required' : 'off (open rooms)';
  const turn = options.turnUrls !== undefined && options.turnUrls.length > 0 ? `on (${options.turnUrls.length} URLs)` : 'off';
  running.log.info({ version, url, open, joinTokens: options.tokenSecret !== undefined, turn: options.turnSecret !== undefined }, 'ready');
  // For a person at a terminal (npm start): plain words on stderr, so stdout stays JSON lines.
  process.stderr.write(`p2p-call ${version}: open ${open}\n  join tokens: ${joinTokens} · TURN: ${turn}\n`);
}

await main(process.argv.slice(2));
