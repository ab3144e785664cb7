/** The text of `p2p-call-server --help`, built from the option table so it cannot drift from it. */
import { OPTION_SPELLINGS, defaultText, environmentVariables, type OptionSpelling } from './config.js';

const COLUMN = 34;

function placeholder(spelling: OptionSpelling): string {
  switch (spelling.kind) {
    case 'integer':
      return ' <n>';
    case 'list':
      return ' <a,b,…>';
    case 'boolean':
      return '[=<bool>]';
    case 'string':
      return spelling.key === 'tlsCert' || spelling.key === 'tlsKey' ? ' <file>' : ' <value>';
  }
}

function row(left: string, lines: string[]): string[] {
  const [first = '', ...rest] = lines;
  return [`  ${left.padEnd(COLUMN)}${left.length >= COLUMN ? `\n  ${' '.repeat(COLUMN)}` : ''}${first}`, ...rest.map((line) => `  ${' '.repeat(COLUMN)}${line}`)];
}

export function helpText(version: string): string {
  const lines = [
    `p2p-call-server ${version}: signaling server for p2p-call (WebSocket at /ws, the script-tag`,
    'bundles, the demo page at / and /healthz).',
    '',
    'Usage: p2p-call-server [options]',
    '',
    'Every option can also be set by its environment variable; a flag wins over the variable.',
    'Secrets can be read from a file instead (--token-secret-file, P2P_TOKEN_SECRET_FILE…), which',
    "keeps them out of `ps` and of the process's environment.",
    '',
    'Options:',
  ];
  for (const spelling of OPTION_SPELLINGS) {
    lines.push(...row(`--${spelling.flag}${placeholder(spelling)}`, [spelling.description, `env ${spelling.env.join(', ')} · default: ${defaultText(spelling)}`]));
    if (spelling.secret) {
      lines.push(...row(`--${spelling.flag}-file <file>`, [`read --${spelling.flag} from a file (trailing newline dropped)`, `env ${spelling.env.map((name) => `${name}_FILE`).join(', ')}`]));
    }
  }
  lines.push(...row('-h, --help', ['show this help and exit']), ...row('-v, --version', ['print the version and exit']));
  lines.push('', `Environment variables read: ${environmentVariables().join(' ')}`);
  lines.push('', 'Exit status: 0 after a graceful stop (SIGTERM/SIGINT), 2 for a bad option, 1 if it cannot listen.');
  return lines.join('\n');
}
