/**
 * TURN REST credentials, the convention coturn implements with `use-auth-secret`:
 * username `<unix-expiry>:<id>`, credential `base64(HMAC-SHA1(secret, username))`.
 */
import { createHmac } from 'node:crypto';
import type { IceServer } from '../sdk/protocol.js';

export interface TurnConfig {
  secret: string | undefined;
  turnUrls: readonly string[];
  stunUrls: readonly string[];
  /** Credential lifetime in seconds. */
  ttl: number;
}

/** One TURN entry with credentials valid for `ttl` seconds from `nowMs`. */
export function mintTurnCredentials(secret: string, urls: readonly string[], id: string, ttl: number, nowMs = Date.now()): Required<IceServer> {
  const expiry = Math.floor(nowMs / 1000) + ttl;
  const username = `${expiry}:${id}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { urls: [...urls], username, credential };
}

/** The `iceServers` of a `joined` message: configured STUN URLs, then minted TURN credentials. */
export function iceServersFor(config: TurnConfig, peerId: string, nowMs = Date.now()): IceServer[] {
  const servers: IceServer[] = [];
  if (config.stunUrls.length > 0) servers.push({ urls: [...config.stunUrls] });
  if (config.secret !== undefined && config.turnUrls.length > 0) {
    servers.push(mintTurnCredentials(config.secret, config.turnUrls, peerId, config.ttl, nowMs));
  }
  return servers;
}
