/**
 * Prometheus metrics of one node (prom-client), on a registry of the server's own so that
 * several servers in one process (tests, an app that runs two) never share or clash.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsSources {
  connections(): number;
  rooms(): number;
  seatsHeld(): number;
  storeAvailable(): boolean;
}

export interface ServerMetrics {
  readonly registry: Registry;
  readonly joins: Counter<'result'>;
  readonly signalsRelayed: Counter;
  readonly relayLatency: Histogram;
  readonly storeErrors: Counter<'operation'>;
  readonly refused: Counter<'reason'>;
  readonly errorsSent: Counter<'code'>;
}

export function createMetrics(sources: MetricsSources, labels: { node: string }): ServerMetrics {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'p2p_call_connections',
    help: 'Open signaling sockets on this node.',
    registers: [registry],
    collect() {
      this.set(sources.connections());
    },
  });
  new Gauge({
    name: 'p2p_call_rooms',
    help: 'Rooms in which this node holds a seat, live or held.',
    registers: [registry],
    collect() {
      this.set(sources.rooms());
    },
  });
  new Gauge({
    name: 'p2p_call_seats_held',
    help: 'Seats this node holds for a dropped peer during its grace period.',
    registers: [registry],
    collect() {
      this.set(sources.seatsHeld());
    },
  });
  new Gauge({
    name: 'p2p_call_store_up',
    help: '1 while the room store (Redis) answers, 0 while it does not.',
    registers: [registry],
    collect() {
      this.set(sources.storeAvailable() ? 1 : 0);
    },
  });
  return {
    registry,
    joins: new Counter({
      name: 'p2p_call_joins_total',
      help: 'Join and resume requests by result: joined, resumed, or the error code sent.',
      labelNames: ['result'],
      registers: [registry],
    }),
    signalsRelayed: new Counter({
      name: 'p2p_call_signals_relayed_total',
      help: 'Signals received from a seated peer and relayed or queued for the other seat.',
      registers: [registry],
    }),
    relayLatency: new Histogram({
      name: 'p2p_call_relay_latency_seconds',
      help: 'From a signal frame arriving (on any node) to its hand-over to the receiving socket.',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    refused: new Counter({
      name: 'p2p_call_connections_refused_total',
      help: 'Connections refused before they became a signaling socket, by reason (an upgrade refusal\'s error, or pending-total / pending-per-ip for half-sent request heads).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    errorsSent: new Counter({
      name: 'p2p_call_errors_sent_total',
      help: 'Error frames sent to clients, by code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'p2p_call_store_errors_total',
      help: 'Room store (Redis) operations that failed or timed out.',
      labelNames: ['operation'],
      registers: [registry],
    }),
  };
}

/**
 * Answers `GET /metrics` in the Prometheus text format; with a token, only to
 * `Authorization: Bearer <token>` (401 otherwise).
 */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse, registry: Registry, token: string | undefined): Promise<void> {
  if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
    res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer realm="metrics"', 'Cache-Control': 'no-store' });
    res.end('{"error":"unauthorized"}');
    return;
  }
  const body = await registry.metrics();
  res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim() ?? '';
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
