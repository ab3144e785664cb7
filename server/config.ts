/**
 * Server options: defaults, validation, and reading them from flags and environment variables.
 * Every option of the EMBED.md table exists in three spellings (options field, `--flag`, `ENV`);
 * flags win over the environment; secrets can also come from a file (`--token-secret-file`,
 * `P2P_TOKEN_SECRET_FILE`). Everything is checked up front with a message that names the
 * option, so a typo fails at start instead of mid-call.
 */
import { readFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import type { RoomStore } from './room-store.js';

export interface SignalingServerOptions {
  /** HTTP + WebSocket port; `0` picks a free one. */
  port?: number;
  /** Bind address. */
  host?: string;
  /** Allowed `Origin` values; empty or absent allows every origin. */
  allowedOrigins?: string[];
  /** HS256 secret for join tokens; when set, joins need a token (or a valid resume). */
  tokenSecret?: string;
  /** coturn `static-auth-secret`; with `turnUrls`, `joined.iceServers` carries minted credentials. */
  turnSecret?: string;
  turnUrls?: string[];
  stunUrls?: string[];
  /** TURN credential lifetime in seconds. */
  turnTtl?: number;
  /** How long a dropped peer's seat is held, in milliseconds. */
  reconnectGraceMs?: number;
  /** How long a seat is held after the page said `away` (pagehide); capped by `reconnectGraceMs`. */
  awayGraceMs?: number;
  /** Heartbeat period in milliseconds. */
  pingIntervalMs?: number;
  /** Largest accepted frame in bytes; larger frames close the socket with 1009. */
  maxPayload?: number;
  /** Messages per second per socket; the burst is twice that. */
  rateLimit?: number;
  maxConnections?: number;
  maxConnectionsPerIp?: number;
  maxRooms?: number;
  /** Take the client address from `X-Forwarded-For` (set behind nginx only). */
  trustProxy?: boolean;
  /** A connection must have sent its whole HTTP request head within this, or it is closed. */
  headerTimeoutMs?: number;
  /** Connections that have not finished their HTTP request head yet, in total (more are closed at once). */
  maxPendingConnections?: number;
  /** The same per client address (not applied with `trustProxy`: the proxy sends whole heads). */
  maxPendingConnectionsPerIp?: number;
  /** Bytes of signals queued for one held seat (besides the count of 64). */
  maxQueuedBytesPerSeat?: number;
  /** Bytes of signals one client address may have queued for held seats on this node. */
  maxQueuedBytesPerIp?: number;
  /** PEM file paths; when both are set the server speaks HTTPS/WSS itself. */
  tlsCert?: string;
  tlsKey?: string;
  /**
   * Scale-out: rooms live in Redis, shared by every node that names the same Redis.
   * `redis://[user:password@]host:port[/db]`, `rediss://` for TLS; for a Cluster, seed URLs
   * separated by commas, with `redisCluster`.
   */
  redisUrl?: string;
  /** The Redis of `redisUrl` is a Redis Cluster. */
  redisCluster?: boolean;
  /** Every Redis key and channel starts with this, so deployments can share one Redis. */
  redisKeyPrefix?: string;
  /** A bearer token that `GET /metrics` requires; open when absent. */
  metricsToken?: string;
  /** A room store of your own (see server/room-store.ts); default: in memory, or Redis with `redisUrl`. */
  roomStore?: RoomStore;
  /** Log level for the built-in logger: fatal, error, warn, info, debug, trace or silent. */
  logLevel?: LogLevel;
  /** A pino logger to use instead of the built-in one. */
  logger?: Logger;
  /** Attach to this existing server instead of creating one; then `port`, `host` and TLS are the host's. */
  server?: HttpServer;
  /** Directory served at `/` (the demo). */
  staticDir?: string;
  /** Directory holding the script-tag bundles `p2p-call.js` and `p2p-call.iife.js`; default `<package>/dist`. */
  bundleDir?: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options after defaults and validation; only the hooks that have no default stay optional. */
export interface ResolvedOptions {
  port: number;
  host: string;
  allowedOrigins: string[];
  tokenSecret: string | undefined;
  turnSecret: string | undefined;
  turnUrls: string[];
  stunUrls: string[];
  turnTtl: number;
  reconnectGraceMs: number;
  awayGraceMs: number;
  pingIntervalMs: number;
  maxPayload: number;
  rateLimit: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxRooms: number;
  trustProxy: boolean;
  headerTimeoutMs: number;
  maxPendingConnections: number;
  maxPendingConnectionsPerIp: number;
  maxQueuedBytesPerSeat: number;
  maxQueuedBytesPerIp: number;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  redisUrl: string | undefined;
  redisCluster: boolean;
  redisKeyPrefix: string;
  metricsToken: string | undefined;
  roomStore: RoomStore | undefined;
  logLevel: LogLevel;
  logger: Logger | undefined;
  server: HttpServer | undefined;
  staticDir: string | undefined;
  bundleDir: string | undefined;
}

export const DEFAULTS = {
  port: 8080,
  host: '127.0.0.1',
  allowedOrigins: [] as string[],
  turnUrls: [] as string[],
  stunUrls: [] as string[],
  turnTtl: 86_400,
  reconnectGraceMs: 15_000,
  awayGraceMs: 4_000,
  pingIntervalMs: 15_000,
  maxPayload: 65_536,
  rateLimit: 100,
  maxConnections: 10_000,
  maxConnectionsPerIp: 50,
  maxRooms: 10_000,
  trustProxy: false,
  headerTimeoutMs: 10_000,
  maxPendingConnections: 512,
  maxPendingConnectionsPerIp: 16,
  maxQueuedBytesPerSeat: 262_144,
  maxQueuedBytesPerIp: 2_097_152,
  redisKeyPrefix: 'p2p:',
  logLevel: 'info' as LogLevel,
} as const;

/** A configuration mistake, reported before anything starts. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Applies defaults and checks every option; throws {@link ConfigError} naming the first bad one. */
export function resolveOptions(options: SignalingServerOptions = {}): ResolvedOptions {
  const resolved: ResolvedOptions = {
    port: integer('port', options.port ?? DEFAULTS.port, 0, 65_535),
    host: nonEmpty('host', options.host ?? DEFAULTS.host),
    allowedOrigins: urlList('allowedOrigins', options.allowedOrigins ?? DEFAULTS.allowedOrigins, ['http:', 'https:']),
    tokenSecret: optionalSecret('tokenSecret', options.tokenSecret),
    turnSecret: optionalSecret('turnSecret', options.turnSecret),
    turnUrls: iceUrlList('turnUrls', options.turnUrls ?? DEFAULTS.turnUrls, ['turn:', 'turns:']),
    stunUrls: iceUrlList('stunUrls', options.stunUrls ?? DEFAULTS.stunUrls, ['stun:', 'stuns:']),
    turnTtl: integer('turnTtl', options.turnTtl ?? DEFAULTS.turnTtl, 60, 31_536_000),
    reconnectGraceMs: integer('reconnectGraceMs', options.reconnectGraceMs ?? DEFAULTS.reconnectGraceMs, 0, 3_600_000),
    awayGraceMs: integer('awayGraceMs', options.awayGraceMs ?? DEFAULTS.awayGraceMs, 0, 3_600_000),
    pingIntervalMs: integer('pingIntervalMs', options.pingIntervalMs ?? DEFAULTS.pingIntervalMs, 10, 3_600_000),
    maxPayload: integer('maxPayload', options.maxPayload ?? DEFAULTS.maxPayload, 1024, 16 * 1024 * 1024),
    rateLimit: integer('rateLimit', options.rateLimit ?? DEFAULTS.rateLimit, 1, 1_000_000),
    maxConnections: integer('maxConnections', options.maxConnections ?? DEFAULTS.maxConnections, 1, 10_000_000),
    maxConnectionsPerIp: integer('maxConnectionsPerIp', options.maxConnectionsPerIp ?? DEFAULTS.maxConnectionsPerIp, 1, 10_000_000),
    maxRooms: integer('maxRooms', options.maxRooms ?? DEFAULTS.maxRooms, 1, 10_000_000),
    trustProxy: boolean('trustProxy', options.trustProxy ?? DEFAULTS.trustProxy),
    headerTimeoutMs: integer('headerTimeoutMs', options.headerTimeoutMs ?? DEFAULTS.headerTimeoutMs, 100, 600_000),
    maxPendingConnections: integer('maxPendingConnections', options.maxPendingConnections ?? DEFAULTS.maxPendingConnections, 1, 10_000_000),
    maxPendingConnectionsPerIp: integer('maxPendingConnectionsPerIp', options.maxPendingConnectionsPerIp ?? DEFAULTS.maxPendingConnectionsPerIp, 1, 10_000_000),
    maxQueuedBytesPerSeat: integer('maxQueuedBytesPerSeat', options.maxQueuedBytesPerSeat ?? DEFAULTS.maxQueuedBytesPerSeat, 1024, 1_073_741_824),
    maxQueuedBytesPerIp: integer('maxQueuedBytesPerIp', options.maxQueuedBytesPerIp ?? DEFAULTS.maxQueuedBytesPerIp, 1024, 1_073_741_824),
    tlsCert: optionalPath('tlsCert', options.tlsCert),
    tlsKey: optionalPath('tlsKey', options.tlsKey),
    redisUrl: redisUrls('redisUrl', options.redisUrl),
    redisCluster: boolean('redisCluster', options.redisCluster ?? false),
    redisKeyPrefix: keyPrefix('redisKeyPrefix', options.redisKeyPrefix ?? DEFAULTS.redisKeyPrefix),
    metricsToken: optionalSecret('metricsToken', options.metricsToken),
    roomStore: options.roomStore,
    logLevel: oneOf('logLevel', options.logLevel ?? DEFAULTS.logLevel, LOG_LEVELS),
    logger: options.logger,
    server: options.server,
    staticDir: options.staticDir,
    bundleDir: options.bundleDir,
  };
  if ((resolved.tlsCert === undefined) !== (resolved.tlsKey === undefined)) {
    throw new ConfigError('tlsCert and tlsKey must be given together');
  }
  if (resolved.server !== undefined && resolved.tlsCert !== undefined) {
    throw new ConfigError('tlsCert/tlsKey cannot be used with an attached server: configure TLS on that server');
  }
  if (resolved.turnUrls.length > 0 && resolved.turnSecret === undefined) {
    throw new ConfigError('turnUrls need turnSecret (the coturn static-auth-secret) to mint credentials');
  }
  if (resolved.turnSecret !== undefined && resolved.turnUrls.length === 0) {
    throw new ConfigError('turnSecret needs turnUrls (e.g. turn:turn.example.com:3478)');
  }
  if (resolved.redisCluster && resolved.redisUrl === undefined) {
    throw new ConfigError('redisCluster needs redisUrl (the seed nodes, e.g. redis://10.0.0.1:7000,redis://10.0.0.2:7000)');
  }
  if (resolved.roomStore !== undefined && resolved.redisUrl !== undefined) {
    throw new ConfigError('roomStore and redisUrl cannot be used together: give one store');
  }
  return resolved;
}

/** One row of the option table: how the option is spelled as a flag and as an env var. */
export interface OptionSpelling {
  key: keyof SignalingServerOptions;
  flag: string;
  env: string[];
  kind: 'integer' | 'string' | 'list' | 'boolean';
  /** One line for `--help`: what the option does. */
  description: string;
  /** What `--help` shows as the default when {@link DEFAULTS} has no value for `key`. */
  unset?: string;
  /**
   * A secret: it can also be read from a file (`--<flag>-file`, `<ENV>_FILE`), so it stays out
   * of `ps` and of the environment other processes can read.
   */
  secret?: true;
}

export const OPTION_SPELLINGS: readonly OptionSpelling[] = [
  { key: 'port', flag: 'port', env: ['PORT'], kind: 'integer', description: 'HTTP + WebSocket port; 0 picks a free one' },
  { key: 'host', flag: 'host', env: ['HOST'], kind: 'string', description: 'bind address; 0.0.0.0 (or ::) for every interface' },
  { key: 'allowedOrigins', flag: 'allowed-origins', env: ['P2P_ALLOWED_ORIGINS'], kind: 'list', description: 'comma-separated Origins allowed to open the WebSocket', unset: 'every origin' },
  { key: 'tokenSecret', flag: 'token-secret', env: ['P2P_TOKEN_SECRET'], kind: 'string', description: 'HS256 secret (16+ characters); when set, joining needs a token', unset: 'none (open rooms)', secret: true },
  { key: 'turnSecret', flag: 'turn-secret', env: ['P2P_TURN_SECRET'], kind: 'string', description: "coturn's static-auth-secret for TURN credentials (with --turn-urls)", unset: 'none (no TURN)', secret: true },
  { key: 'turnUrls', flag: 'turn-urls', env: ['P2P_TURN_URLS'], kind: 'list', description: 'comma-separated turn:/turns: URLs handed to clients', unset: 'none' },
  { key: 'stunUrls', flag: 'stun-urls', env: ['P2P_STUN_URLS'], kind: 'list', description: 'comma-separated stun: URLs handed to clients', unset: 'none' },
  { key: 'turnTtl', flag: 'turn-ttl', env: ['P2P_TURN_TTL'], kind: 'integer', description: 'TURN credential lifetime, seconds' },
  { key: 'reconnectGraceMs', flag: 'reconnect-grace-ms', env: ['P2P_RECONNECT_GRACE_MS'], kind: 'integer', description: "how long a dropped peer's seat is held, ms" },
  { key: 'awayGraceMs', flag: 'away-grace-ms', env: ['P2P_AWAY_GRACE_MS'], kind: 'integer', description: "how long a seat is held after its page said it is going away (capped by the grace), ms" },
  { key: 'pingIntervalMs', flag: 'ping-interval-ms', env: ['P2P_PING_INTERVAL_MS'], kind: 'integer', description: 'heartbeat period, ms' },
  { key: 'maxPayload', flag: 'max-payload', env: ['P2P_MAX_PAYLOAD'], kind: 'integer', description: 'largest accepted frame, bytes' },
  { key: 'rateLimit', flag: 'rate-limit', env: ['P2P_RATE_LIMIT'], kind: 'integer', description: 'messages per second per socket (burst: twice that)' },
  { key: 'maxConnections', flag: 'max-connections', env: ['P2P_MAX_CONNECTIONS'], kind: 'integer', description: 'open sockets in total, then HTTP 503' },
  { key: 'maxConnectionsPerIp', flag: 'max-connections-per-ip', env: ['P2P_MAX_CONNECTIONS_PER_IP'], kind: 'integer', description: 'open sockets per client address' },
  { key: 'maxRooms', flag: 'max-rooms', env: ['P2P_MAX_ROOMS'], kind: 'integer', description: 'rooms in memory, then server-busy' },
  { key: 'trustProxy', flag: 'trust-proxy', env: ['P2P_TRUST_PROXY'], kind: 'boolean', description: 'client address from X-Forwarded-For (only behind nginx or similar)' },
  { key: 'headerTimeoutMs', flag: 'header-timeout-ms', env: ['P2P_HEADER_TIMEOUT_MS'], kind: 'integer', description: 'a connection must send its whole HTTP request head within this, ms' },
  { key: 'maxPendingConnections', flag: 'max-pending-connections', env: ['P2P_MAX_PENDING_CONNECTIONS'], kind: 'integer', description: 'connections still sending their request head, in total' },
  { key: 'maxPendingConnectionsPerIp', flag: 'max-pending-connections-per-ip', env: ['P2P_MAX_PENDING_CONNECTIONS_PER_IP'], kind: 'integer', description: 'the same per client address (not with --trust-proxy)' },
  { key: 'maxQueuedBytesPerSeat', flag: 'max-queued-bytes-per-seat', env: ['P2P_MAX_QUEUED_BYTES_PER_SEAT'], kind: 'integer', description: 'bytes of signals queued for one held seat' },
  { key: 'maxQueuedBytesPerIp', flag: 'max-queued-bytes-per-ip', env: ['P2P_MAX_QUEUED_BYTES_PER_IP'], kind: 'integer', description: 'bytes of signals one client address may have queued for held seats' },
  { key: 'tlsCert', flag: 'tls-cert', env: ['P2P_TLS_CERT'], kind: 'string', description: 'PEM certificate file; with --tls-key, serve HTTPS/WSS itself', unset: 'none (plain HTTP)' },
  { key: 'tlsKey', flag: 'tls-key', env: ['P2P_TLS_KEY'], kind: 'string', description: 'PEM private key file for --tls-cert', unset: 'none' },
  { key: 'redisUrl', flag: 'redis-url', env: ['P2P_REDIS_URL'], kind: 'string', description: 'Redis for scale-out: redis://[user:pass@]host:port[/db], rediss:// for TLS', unset: 'none (single node, rooms in memory)', secret: true },
  { key: 'redisCluster', flag: 'redis-cluster', env: ['P2P_REDIS_CLUSTER'], kind: 'boolean', description: 'the Redis of --redis-url is a Redis Cluster' },
  { key: 'redisKeyPrefix', flag: 'redis-key-prefix', env: ['P2P_REDIS_KEY_PREFIX'], kind: 'string', description: 'prefix of every Redis key and channel, so deployments can share one Redis' },
  { key: 'metricsToken', flag: 'metrics-token', env: ['P2P_METRICS_TOKEN'], kind: 'string', description: 'bearer token that GET /metrics requires', unset: 'none (/metrics open)', secret: true },
  { key: 'logLevel', flag: 'log-level', env: ['P2P_LOG_LEVEL'], kind: 'string', description: `JSON log level: ${LOG_LEVELS.join(', ')}` },
];

/** Suffix of the flag and env spellings that name a file holding a secret option's value. */
const FILE_SUFFIX = { flag: '-file', env: '_FILE' } as const;

/** Every environment variable the server reads, `_FILE` variants included. */
export function environmentVariables(): string[] {
  return OPTION_SPELLINGS.flatMap((s) => (s.secret ? s.env.flatMap((name) => [name, name + FILE_SUFFIX.env]) : s.env));
}

/** The default `--help` shows for a row. */
export function defaultText(spelling: OptionSpelling): string {
  const value: unknown = (DEFAULTS as Record<string, unknown>)[spelling.key];
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return spelling.unset ?? (spelling.kind === 'boolean' ? 'off' : 'none');
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return String(value);
}

/** What the command line asks for besides options. */
export interface CommandLine {
  help: boolean;
  version: boolean;
  options: SignalingServerOptions;
}

/**
 * Reads the command line with `node:util`'s `parseArgs` (strict: unknown flags and stray
 * arguments are errors) and the environment. Flags win over the environment; a secret given
 * both directly and as a file at the same level is an error rather than a silent choice.
 */
export function readCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv, readSecretFile: (path: string) => string = readSecret): CommandLine {
  const spec: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const spelling of OPTION_SPELLINGS) {
    // Switches take `--trust-proxy`, `--trust-proxy=false` and `--trust-proxy false` (see below).
    spec[spelling.flag] = { type: 'string' };
    if (spelling.secret) spec[spelling.flag + FILE_SUFFIX.flag] = { type: 'string' };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: withSwitchValues(argv), options: spec, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigError(parseArgsMessage(error));
  }

  const options: Record<string, unknown> = {};
  for (const spelling of OPTION_SPELLINGS) {
    const fromFlags = pick(spelling, (name) => values[name] as string | undefined, (name) => `--${name}`, FILE_SUFFIX.flag, [spelling.flag]);
    const fromEnv = fromFlags ?? pick(spelling, (name) => nonEmptyEnv(env, name), (name) => name, FILE_SUFFIX.env, spelling.env);
    if (fromEnv === undefined) continue;
    const raw = fromEnv.file ? readSecretFile(fromEnv.raw) : fromEnv.raw;
    options[spelling.key] = convert(raw, spelling.kind, fromEnv.source);
  }
  return { help: values['help'] === true, version: values['version'] === true, options: options as SignalingServerOptions };
}

/**
 * Reads options from command-line flags (`--port 9000`, `--port=9000`, `--trust-proxy`) and
 * environment variables. Flags win. Unknown flags are an error, not silently ignored.
 */
export function optionsFromCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): SignalingServerOptions {
  return readCommandLine(argv, env).options;
}

/** The value of one option at one level (flags or env): direct or `…file`, not both. */
function pick(
  spelling: OptionSpelling,
  get: (name: string) => string | undefined,
  label: (name: string) => string,
  fileSuffix: string,
  names: readonly string[],
): { raw: string; source: string; file: boolean } | undefined {
  for (const name of names) {
    const direct = get(name);
    const file = spelling.secret ? get(name + fileSuffix) : undefined;
    if (direct !== undefined && file !== undefined) {
      throw new ConfigError(`${label(name)} and ${label(name + fileSuffix)} are both set: give the secret one way`);
    }
    if (direct !== undefined) return { raw: direct, source: label(name), file: false };
    if (file !== undefined) return { raw: file, source: label(name + fileSuffix), file: true };
  }
  return undefined;
}

function nonEmptyEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** A secret file's content without the trailing newline editors and `echo` add. */
function readSecret(path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError(`cannot read the secret file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/**
 * `parseArgs` has no optional values, so a switch is rewritten before parsing:
 * `--trust-proxy` → `--trust-proxy=true`, `--trust-proxy false` → `--trust-proxy=false`.
 */
function withSwitchValues(argv: readonly string[]): string[] {
  const switches = new Set(OPTION_SPELLINGS.filter((s) => s.kind === 'boolean').map((s) => `--${s.flag}`));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!switches.has(arg)) {
      out.push(arg);
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('-')) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(`${arg}=true`);
    }
  }
  return out;
}

/** `parseArgs`'s errors, reworded to name the option and point at `--help`. */
function parseArgsMessage(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const option = /'(-{1,2}[^' ]+)/.exec(message ?? '')?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? ''} (see --help)`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /'([^']*)'/.exec(message ?? '')?.[1] ?? '';
      return `unexpected argument "${arg}" (options are --name value)`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `${option ?? 'an option'} needs a value (see --help)`;
    default:
      return message ?? String(error);
  }
}

function convert(raw: string, kind: OptionSpelling['kind'], source: string): unknown {
  switch (kind) {
    case 'integer': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${source} must be a whole number, got "${raw}"`);
      return Number(raw);
    }
    case 'string':
      return raw;
    case 'list':
      return raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
    case 'boolean': {
      const value = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(value)) return true;
      if (['0', 'false', 'no', 'off'].includes(value)) return false;
      throw new ConfigError(`${source} must be true or false, got "${raw}"`);
    }
  }
}

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(`${name} must be a non-empty string`);
  return value;
}

function optionalSecret(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length < 16) {
    throw new ConfigError(`${name} must be a string of at least 16 characters`);
  }
  return value;
}

function optionalPath(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return nonEmpty(name, value);
}

function oneOf<T extends string>(name: string, value: unknown, list: readonly T[]): T {
  if (typeof value !== 'string' || !(list as readonly string[]).includes(value)) {
    throw new ConfigError(`${name} must be one of ${list.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function stringList(name: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw new ConfigError(`${name} must be a list of non-empty strings`);
  }
  return [...value] as string[];
}

/** Origins are compared as the browser sends them: scheme://host[:port], no path. */
function urlList(name: string, value: unknown, schemes: string[]): string[] {
  return stringList(name, value).map((item) => {
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw new ConfigError(`${name}: "${item}" is not a URL such as https://example.com`);
    }
    if (!schemes.includes(url.protocol)) throw new ConfigError(`${name}: "${item}" must start with ${schemes.join(' or ')}//`);
    return url.origin;
  });
}

/** One Redis URL, or several (Cluster seeds) separated by commas; each redis: or rediss:. */
function redisUrls(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const text = nonEmpty(name, value);
  for (const item of text.split(',').map((part) => part.trim())) {
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw new ConfigError(`${name}: "${redact(item)}" is not a URL such as redis://127.0.0.1:6379`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw new ConfigError(`${name}: "${redact(item)}" must start with redis:// or rediss://`);
    }
  }
  return text;
}

/** Key prefixes may not contain braces: they would change which Cluster slot a room's keys hash to. */
function keyPrefix(name: string, value: unknown): string {
  const text = nonEmpty(name, value);
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(text)) throw new ConfigError(`${name} must be 1–64 of A–Z a–z 0–9 _ . : -, got ${JSON.stringify(text)}`);
  return text;
}

/** A URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

function iceUrlList(name: string, value: unknown, schemes: string[]): string[] {
  return stringList(name, value).map((item) => {
    if (!schemes.some((scheme) => item.startsWith(scheme))) {
      throw new ConfigError(`${name}: "${item}" must start with ${schemes.join(' or ')}`);
    }
    return item;
  });
}
