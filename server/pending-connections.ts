/**
 * Bounds on connections that have not finished their HTTP request head. Node only times them
 * out (here after `headerTimeoutMs`); until then each one holds a file descriptor, so without a
 * cap a few hundred sockets that send half a request (slowloris) from one address exhaust the
 * process's descriptors and every join and `/healthz` fails. A connection counts from its TCP
 * accept until its first request head is complete (a request or an upgrade), or until it closes.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

export interface PendingLimits {
  total: number;
  /** Per client address; `undefined` disables it (behind a proxy all sockets share one address). */
  perAddress: number | undefined;
  /** Called when a connection is refused for a cap. */
  onRefused(reason: 'pending-total' | 'pending-per-ip', address: string): void;
}

export class PendingConnections {
  private total = 0;
  private readonly perAddress = new Map<string, number>();
  /** Pending sockets by `address:port`, which a TLS socket shares with the TCP socket under it. */
  private readonly pending = new Map<string, string>();

  constructor(private readonly limits: PendingLimits) {}

  /** Starts counting on `server` (the server's own HTTP server only: an attached one is the host's). */
  attach(server: HttpServer | HttpsServer): void {
    server.on('connection', (socket: Socket) => this.accepted(socket));
    server.on('request', (req: IncomingMessage) => this.settled(req.socket));
  }

  /** The request head of `socket` is complete (an upgrade is handled elsewhere than 'request'). */
  settled(socket: Socket): void {
    this.settle(keyOf(socket));
  }

  private settle(key: string): void {
    const address = this.pending.get(key);
    if (address === undefined) return;
    this.pending.delete(key);
    this.total--;
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(address, left);
    else this.perAddress.delete(address);
  }

  get count(): number {
    return this.total;
  }

  private accepted(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (this.total >= this.limits.total) return this.refuse(socket, 'pending-total', address);
    if (this.limits.perAddress !== undefined && fromAddress >= this.limits.perAddress) {
      return this.refuse(socket, 'pending-per-ip', address);
    }
    const key = keyOf(socket);
    this.pending.set(key, address);
    this.total++;
    this.perAddress.set(address, fromAddress + 1);
    // The key is taken now: a closed socket no longer knows its address.
    socket.once('close', () => this.settle(key));
  }

  private refuse(socket: Socket, reason: 'pending-total' | 'pending-per-ip', address: string): void {
    this.limits.onRefused(reason, address);
    // Nothing was read yet, so nothing can be answered: close at once, freeing the descriptor.
    socket.destroy();
  }
}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}`;
}
