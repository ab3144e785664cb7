/**
 * Free ports on 127.0.0.1 for the servers the tests start (coturn, nginx, …), chosen at run time,
 * never fixed. Each answer is "free a moment ago": callers that bind later check what they got
 * (coturn's start-up looks for sockets of other processes on its port).
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const HOST = '127.0.0.1';

/** A TCP port the kernel just picked, other than those in `except`. */
export async function freeTcpPort(except: readonly number[] = []): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, HOST, () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port > 0 && !except.includes(port)) return port;
  }
  throw new Error('no free TCP port on 127.0.0.1 after 20 tries');
}

/** A port free for both TCP and UDP (STUN/TURN listens on both). */
export async function freeTcpUdpPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freeTcpPort();
    if (await udpFree(port)) return port;
  }
  throw new Error('no port free for both TCP and UDP on 127.0.0.1 after 20 tries');
}

/** Ranges handed out by this process: two coturns of one test file must not share relay ports. */
const rangesGiven: Array<[number, number]> = [];

/**
 * A range of `size` ports, all free for UDP and TCP, below the kernel's ephemeral range (where
 * browsers and port-0 sockets take theirs), not containing `avoid` and not overlapping a range
 * given earlier in this process.
 */
export async function freeRelayRange(size: number, avoid: number): Promise<{ min: number; max: number }> {
  const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const top = Math.max(20_000 + size * 4, (ephemeralLow ?? 32_768) - 1);
  const bottom = 20_000;
  for (let i = 0; i < 30; i++) {
    const min = bottom + Math.floor(Math.random() * (top - bottom - size));
    const max = min + size - 1;
    if ((avoid >= min && avoid <= max) || rangesGiven.some(([lo, hi]) => min <= hi && lo <= max)) continue;
    let free = true;
    for (let port = min; port <= max && free; port++) free = (await udpFree(port)) && (await tcpFree(port));
    if (!free) continue;
    rangesGiven.push([min, max]);
    return { min, max };
  }
  throw new Error(`no free range of ${size} ports between ${bottom} and ${top} after 30 tries`);
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, HOST, () => socket.close(() => resolve(true)));
  });
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}
