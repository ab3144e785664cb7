/**
 * A NAT lab made of Linux network namespaces, for calls that must cross real address
 * translation. Root only. Everything lives in namespaces this run creates and deletes; the
 * addresses below exist only inside them.
 *
 * ```
 *                       pub (198.18.0.1 on bridge "wan": signaling server, coturn, echo)
 *                      /                                  \
 *   nat-a  wan0 198.18.0.2                          wan0 198.18.0.3  nat-b
 *          lan0 10.1.0.1/24                         lan0 192.168.2.1/24
 *            |                                          |
 *   client-a eth0 10.1.0.2 (default via nat-a)    eth0 192.168.2.2 (default via nat-b)  client-b
 * ```
 *
 * The routers masquerade what leaves `wan0`: plain MASQUERADE keeps the source port, so one
 * private socket keeps one public port for every destination (a cone NAT: endpoint-independent
 * mapping); `--random` picks a new public port for every destination (a symmetric NAT). Like a
 * home router they also drop unsolicited packets that arrive on `wan0`. That matters beyond
 * realism: on Linux an inbound packet that reaches the router's own stack creates a conntrack
 * entry, and a hole-punching packet arriving before the local client has sent its own would then
 * collide with the mapping the client is about to need, so the router would pick another port
 * and even a "cone" NAT would behave symmetrically. Dropped in the filter table, the packet's
 * conntrack entry is never confirmed and nothing collides.
 *
 * Namespaces are named `p2pnat-<pid>-<role>`, so parallel runs never collide; namespaces with a
 * pid that no longer runs are leftovers of a crashed run and are removed by the next one.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Every namespace of every run starts with this; the pid after it says which run owns it. */
export const LAB_PREFIX = 'p2pnat-';
const LAB_NAME = /^p2pnat-(\d+)-[a-z-]+$/;

export const ROLES = ['pub', 'nat-a', 'nat-b', 'client-a', 'client-b'] as const;
export type Role = (typeof ROLES)[number];
export type NatMode = 'cone' | 'symmetric';

/** Lab addresses: the "public internet" is 198.18.0.0/24 (RFC 2544 benchmarking space). */
export const ADDRESSES = {
  pub: '198.18.0.1',
  natA: '198.18.0.2',
  natB: '198.18.0.3',
  lanA: '10.1.0.1',
  clientA: '10.1.0.2',
  lanB: '192.168.2.1',
  clientB: '192.168.2.2',
} as const;

/** Ranges coturn must never relay to: the private LANs (it has no route there anyway). */
export const PRIVATE_RANGES = ['10.0.0.0-10.255.255.255', '172.16.0.0-172.31.255.255', '192.168.0.0-192.168.255.255'];

/** The tools live in sbin, which a non-login root shell may not have on its PATH. */
const PATH = [...new Set([...(process.env['PATH'] ?? '').split(':').filter((dir) => dir !== ''), '/usr/sbin', '/sbin', '/usr/bin', '/bin'])].join(':');
const ENV = { ...process.env, PATH };

/** Runs a command and returns its stdout; throws with its stderr on a non-zero exit. */
export function run(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000, env: ENV });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`${command} ${args.join(' ')} failed${stderr === '' ? '' : `: ${stderr}`}`, { cause: error });
  }
}

/** The absolute path of a command on the PATH (plus sbin), or `undefined`. */
export function commandPath(command: string): string | undefined {
  for (const dir of PATH.split(':')) {
    try {
      accessSync(`${dir}/${command}`, constants.X_OK);
      return `${dir}/${command}`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listNamespaces(): string[] {
  // `ip netns list` prints "name" or "name (id: N)".
  return run('ip', ['netns', 'list']).split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '').filter((name) => name !== '');
}

/** Namespaces of this lab's naming, optionally only those of one run. */
export function labNamespaces(pid?: number): string[] {
  return listNamespaces().filter((name) => {
    const owner = LAB_NAME.exec(name)?.[1];
    return owner !== undefined && (pid === undefined || Number(owner) === pid);
  });
}

/** Kills what still runs inside a namespace (by pid: only processes in our own namespaces), then deletes it. */
function deleteNamespace(name: string): void {
  let pids: number[] = [];
  try {
    pids = run('ip', ['netns', 'pids', name]).split('\n').map(Number).filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    // already gone
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  try {
    run('ip', ['netns', 'delete', name]);
  } catch {
    // already gone
  }
}

/** A temp directory for this run's files, named like its namespaces so a crashed run's is found too. */
export function labTempDir(): string {
  return mkdtempSync(join(tmpdir(), `${LAB_PREFIX}${process.pid}-`));
}

const orphaned = (owner: string | undefined) => owner !== undefined && Number(owner) !== process.pid && !alive(Number(owner));

/**
 * Removes what earlier runs of this lab left when they crashed before cleaning up: namespaces
 * (and the processes still in them) and temp directories that are ours by name
 * (`p2pnat-<pid>-…`) and orphaned (that pid no longer runs). Returns the namespaces' names.
 */
export function removeStaleLabs(): string[] {
  const stale = labNamespaces().filter((name) => orphaned(LAB_NAME.exec(name)?.[1]));
  stale.forEach(deleteNamespace);
  for (const entry of readdirSync(tmpdir())) {
    if (orphaned(/^p2pnat-(\d+)-[A-Za-z0-9]{6}$/.exec(entry)?.[1])) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
  return stale;
}

/**
 * Why the lab cannot run here, or `undefined` when it can: needs root, `ip netns`, iptables
 * inside a namespace, coturn and Chromium. Probes by creating (and deleting) a namespace.
 */
export function labSkipReason(chromium: string): string | undefined {
  if (process.platform !== 'linux') return 'NAT lab: needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'NAT lab: needs root (ip netns, iptables); run the tests as root to include it';
  for (const command of ['ip', 'iptables', 'turnserver']) {
    if (commandPath(command) === undefined) return `NAT lab: "${command}" is not installed (apt-get install iproute2 iptables coturn)`;
  }
  try {
    accessSync(chromium, constants.X_OK);
  } catch {
    return `NAT lab: no Chromium at ${chromium}`;
  }
  const probe = `${LAB_PREFIX}${process.pid}-probe`;
  try {
    run('ip', ['netns', 'add', probe]);
    run('ip', ['netns', 'exec', probe, 'iptables', '-t', 'nat', '-S']);
    return undefined;
  } catch (error) {
    return `NAT lab: network namespaces are not usable here (${(error as Error).message.split('\n')[0]})`;
  } finally {
    deleteNamespace(probe);
  }
}

export interface NatLab {
  /** Full namespace names by role. */
  readonly ns: Readonly<Record<Role, string>>;
  /** Runs a command inside a namespace and returns its stdout. */
  exec(role: Role, command: string, args: readonly string[]): string;
  /** Starts a long-running process inside a namespace (`ip netns exec` execs it: the pid is the process's own). */
  spawn(role: Role, command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Sets how router `nat-a` or `nat-b` translates from now on (existing flows keep their mapping). */
  setNat(router: 'nat-a' | 'nat-b', mode: NatMode): void;
  /** Kills every process left in the lab's namespaces and deletes them (veths, bridge and rules go with them). Idempotent, synchronous. */
  destroy(): void;
}

/** Builds the topology above. On any failure half-way, removes what it created and rethrows. */
export function createNatLab(): NatLab {
  const ns = Object.fromEntries(ROLES.map((role) => [role, `${LAB_PREFIX}${process.pid}-${role}`])) as Record<Role, string>;
  let destroyed = false;
  const lab: NatLab = {
    ns,
    exec: (role, command, args) => run('ip', ['netns', 'exec', ns[role], command, ...args]),
    spawn: (role, command, args, options = {}) => spawn('ip', ['netns', 'exec', ns[role], command, ...args], { env: ENV, ...options }),
    setNat(router, mode) {
      lab.exec(router, 'iptables', ['-t', 'nat', '-F', 'POSTROUTING']);
      lab.exec(router, 'iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-j', 'MASQUERADE', ...(mode === 'symmetric' ? ['--random'] : [])]);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      // Clients first: their processes (Chromium) hold the LAN veths.
      for (const role of ['client-a', 'client-b', 'nat-a', 'nat-b', 'pub'] as const) deleteNamespace(ns[role]);
    },
  };
  const ip = (role: Role, ...args: string[]) => run('ip', ['-n', ns[role], ...args]);
  // /proc/sys/net belongs to the namespace of the process that writes it (no procps needed).
  const sysctl = (role: Role, key: string, value: string) => {
    if (!/^[a-z0-9_.]+$/.test(key) || !/^\d+$/.test(value)) throw new Error(`bad sysctl ${key}=${value}`);
    lab.exec(role, 'sh', ['-c', `echo ${value} > /proc/sys/${key.replaceAll('.', '/')}`]);
  };

  try {
    for (const role of ROLES) {
      run('ip', ['netns', 'add', ns[role]]);
      ip(role, 'link', 'set', 'lo', 'up');
      // IPv4 only: no link-local IPv6 candidates to reason about.
      sysctl(role, 'net.ipv6.conf.all.disable_ipv6', '1');
      sysctl(role, 'net.ipv6.conf.default.disable_ipv6', '1');
    }

    // The "internet": a bridge in pub that both routers plug into.
    ip('pub', 'link', 'add', 'wan', 'type', 'bridge');
    ip('pub', 'addr', 'add', `${ADDRESSES.pub}/24`, 'dev', 'wan');
    ip('pub', 'link', 'set', 'wan', 'up');

    const sides = [
      { router: 'nat-a', client: 'client-a', port: 'to-a', wan: ADDRESSES.natA, lan: ADDRESSES.lanA, host: ADDRESSES.clientA },
      { router: 'nat-b', client: 'client-b', port: 'to-b', wan: ADDRESSES.natB, lan: ADDRESSES.lanB, host: ADDRESSES.clientB },
    ] as const;
    for (const side of sides) {
      // WAN leg: veth created in the router with its peer moved straight into pub (never in the host's namespace).
      ip(side.router, 'link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', side.port, 'netns', ns.pub);
      ip('pub', 'link', 'set', side.port, 'master', 'wan', 'up');
      ip(side.router, 'addr', 'add', `${side.wan}/24`, 'dev', 'wan0');
      ip(side.router, 'link', 'set', 'wan0', 'up');
      // LAN leg.
      ip(side.router, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns[side.client]);
      ip(side.router, 'addr', 'add', `${side.lan}/24`, 'dev', 'lan0');
      ip(side.router, 'link', 'set', 'lan0', 'up');
      ip(side.client, 'addr', 'add', `${side.host}/24`, 'dev', 'eth0');
      ip(side.client, 'link', 'set', 'eth0', 'up');
      ip(side.client, 'route', 'add', 'default', 'via', side.lan);

      sysctl(side.router, 'net.ipv4.ip_forward', '1');
      // A home router's firewall: nothing unsolicited from the WAN, neither to the router nor through it.
      for (const chain of ['INPUT', 'FORWARD']) {
        lab.exec(side.router, 'iptables', ['-A', chain, '-i', 'wan0', '-m', 'conntrack', '--ctstate', 'NEW,INVALID', '-j', 'DROP']);
      }
      lab.setNat(side.router, 'cone');
    }
    return lab;
  } catch (error) {
    lab.destroy();
    throw error;
  }
}

/**
 * One namespace wired straight to the host by a veth pair, for a browser that must run inside a
 * namespace while its peer runs on the host (puppeteer cannot drive a Firefox started inside a
 * namespace, and Firefox connects over a veth where it did not over loopback alone).
 *
 * ```
 *   host: <hostInterface> <hostAddress>/30  ──veth──  eth0 <nsAddress>/30 :namespace p2pnat-<pid>-<role>
 * ```
 *
 * The /30 is picked at random in 198.19.0.0/16 (RFC 2544 benchmarking space; the NAT lab uses
 * 198.18.0.0/24 only inside its own namespaces), skipping any range the host already has. The
 * namespace has no default route and the host end is not forwarded anywhere, so what the
 * namespace sends reaches the host's end of the pair and nothing else. The host interface is
 * named after the pid, so parallel runs do not collide, and goes away with the namespace.
 */
export interface HostLink {
  /** The namespace's full name. */
  readonly ns: string;
  /** The host's end of the pair, e.g. `p2pnat12345`. */
  readonly hostInterface: string;
  readonly hostAddress: string;
  readonly nsAddress: string;
  /** Runs a command inside the namespace and returns its stdout. */
  exec(command: string, args: readonly string[]): string;
  /** Kills what still runs in the namespace and deletes it (the veth pair goes with it). Idempotent, synchronous. */
  destroy(): void;
}

export function createHostLink(role: string): HostLink {
  if (!/^[a-z][a-z-]*$/.test(role)) throw new Error(`bad role "${role}": lowercase letters and dashes`);
  const ns = `${LAB_PREFIX}${process.pid}-${role}`;
  const hostInterface = `p2pnat${process.pid}`.slice(0, 15);
  let hostAddress = '';
  let nsAddress = '';
  for (let attempt = 0; attempt < 20 && hostAddress === ''; attempt++) {
    const third = Math.floor(Math.random() * 256);
    const fourth = Math.floor(Math.random() * 64) * 4;
    const subnet = `198.19.${third}.${fourth}/30`;
    // Nothing on the host may already live in (or route) this range.
    if (run('ip', ['-4', 'route', 'show', 'match', subnet]).split('\n').some((line) => line !== '' && !line.startsWith('default'))) continue;
    if (run('ip', ['-4', 'addr', 'show', 'to', subnet]).trim() !== '') continue;
    hostAddress = `198.19.${third}.${fourth + 1}`;
    nsAddress = `198.19.${third}.${fourth + 2}`;
  }
  if (hostAddress === '') throw new Error('no free /30 in 198.19.0.0/16 after 20 tries');

  let destroyed = false;
  const link: HostLink = {
    ns,
    hostInterface,
    hostAddress,
    nsAddress,
    exec: (command, args) => run('ip', ['netns', 'exec', ns, command, ...args]),
    destroy() {
      if (destroyed) return;
      destroyed = true;
      deleteNamespace(ns);
      // Normally gone with the namespace (a veth pair dies with either end); a half-built link may have left it.
      try {
        run('ip', ['link', 'delete', hostInterface]);
      } catch {
        // already gone
      }
    },
  };
  try {
    run('ip', ['netns', 'add', ns]);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    link.exec('sh', ['-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6']);
    run('ip', ['link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    // IPv4 only on the host's end too: no link-local IPv6 candidates from it.
    writeFileSync(`/proc/sys/net/ipv6/conf/${hostInterface}/disable_ipv6`, '1');
    run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostInterface]);
    run('ip', ['link', 'set', hostInterface, 'up']);
    run('ip', ['-n', ns, 'addr', 'add', `${nsAddress}/30`, 'dev', 'eth0']);
    run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    return link;
  } catch (error) {
    link.destroy();
    throw error;
  }
}
