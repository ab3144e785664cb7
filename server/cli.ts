#!/usr/bin/env node
/**
 * `p2p-call-server` and `npm start`: reads options from flags and environment, starts the
 * server, and shuts it down gracefully on SIGTERM/SIGINT (exit 0 within 5 s).
 */
import { ConfigError, OPTION_SPELLINGS, optionsFromCommandLine } from './config.js';
import { createSignalingServer } from './signaling-server.js';

/** Hard bound on a graceful shutdown; PROTOCOL.md promises exit within 5 s. */
const SHUTDOWN_DEADLINE_MS = 4_500;
/** Exit code for a configuration mistake, as for a usage error. */
const EXIT_USAGE = 2;

function usage(): string {
  const rows = OPTION_SPELLINGS.map((s) => `${`  --${s.flag}${s.kind === 'boolean' ? '' : ' <value>'}`.padEnd(36)} ${s.env.join(', ')}`);
  return ['Usage: p2p-call-server [options]', '', 'Options (flag, then environment variable; flags win):', ...rows, '  --help'].join('\n');
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  let server;
  try {
    server = createSignalingServer(optionsFromCommandLine(argv, process.env));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`p2p-call-server: ${error.message}\n\n${usage()}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  const running = server;

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

  try {
    await running.listen();
  } catch (error) {
    running.log.fatal({ err: (error as Error).message }, 'cannot listen');
    process.exitCode = 1;
    await running.close();
  }
}

await main(process.argv.slice(2));
