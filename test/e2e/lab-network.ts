/**
 * Three network namespaces for the end-to-end tests: a server, an attacker and another client,
 * each client joined to the server by its own veth pair (created inside the namespaces, so no
 * interface ever appears on the host). Addresses come from the documentation ranges the host
 * does not own (198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), so `ignoreself` keeps out of it.
 */
import { must, run } from './run.ts';

export type Family = 'inet' | 'inet6';

export interface Endpoint {
  /** The client's own address. */
  client: string;
  /** The server's address on that client's link. */
  server: string;
}

export interface LabNetwork {
  server: string;
  attacker: string;
  other: string;
  /** Addresses of the attacker's and the other client's link, per family. */
  attack: Record<Family, Endpoint>;
  bystander: Record<Family, Endpoint>;
  /** `ip netns exec NS` prefix. */
  exec(ns: string): string[];
  remove(): void;
}

export const LAB_ADDRESSES = {
  attack: { inet: { server: '203.0.113.1', client: '203.0.113.2' }, inet6: { server: '2001:db8:1::1', client: '2001:db8:1::2' } },
  bystander: { inet: { server: '198.51.100.1', client: '198.51.100.2' }, inet6: { server: '2001:db8:2::1', client: '2001:db8:2::2' } },
} as const;

export function createLabNetwork(tag: string): LabNetwork {
  const server = `moat-ssh-srv-${tag}`;
  const attacker = `moat-ssh-att-${tag}`;
  const other = `moat-ssh-oth-${tag}`;
  const created: string[] = [];
  const lab: LabNetwork = {
    server,
    attacker,
    other,
    attack: LAB_ADDRESSES.attack,
    bystander: LAB_ADDRESSES.bystander,
    exec: (ns) => ['ip', 'netns', 'exec', ns],
    remove() {
      for (const ns of created.splice(0)) run(['ip', 'netns', 'del', ns]);
    },
  };
  try {
    for (const ns of [server, attacker, other]) {
      const r = run(['ip', 'netns', 'add', ns]);
      if (r.code !== 0) throw new Error(`cannot create network namespace ${ns} (set MOAT_SKIP_NETNS=1 to skip): ${r.stderr}`);
      created.push(ns);
      must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const links: [string, string, { inet: Endpoint; inet6: Endpoint }][] = [
      ['to-att', attacker, LAB_ADDRESSES.attack],
      ['to-oth', other, LAB_ADDRESSES.bystander],
    ];
    for (const [dev, peerNs, addrs] of links) {
      must(['ip', '-n', server, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peerNs]);
      must(['ip', '-n', server, 'addr', 'add', `${addrs.inet.server}/24`, 'dev', dev]);
      must(['ip', '-n', server, 'addr', 'add', `${addrs.inet6.server}/64`, 'dev', dev, 'nodad']);
      must(['ip', '-n', peerNs, 'addr', 'add', `${addrs.inet.client}/24`, 'dev', 'eth0']);
      must(['ip', '-n', peerNs, 'addr', 'add', `${addrs.inet6.client}/64`, 'dev', 'eth0', 'nodad']);
      must(['ip', '-n', server, 'link', 'set', dev, 'up']);
      must(['ip', '-n', peerNs, 'link', 'set', 'eth0', 'up']);
    }
  } catch (e) {
    lab.remove();
    throw e;
  }
  return lab;
}

/**
 * Opens a TCP connection from `ns` to `host` port 22 and reads sshd's greeting. Returns the
 * greeting ("SSH-2.0-...") or null when the connection fails (refused, rejected, timed out).
 */
export function sshGreeting(ns: string, host: string): { greeting: string | null; detail: string } {
  // bash's /dev/tcp takes IPv6 literals too; the timeout covers a silently dropped SYN
  const r = run(['ip', 'netns', 'exec', ns, 'timeout', '5', 'bash', '-c', `exec 3<>"/dev/tcp/$1/22" && head -c 8 <&3`, 'probe', host], 15_000);
  const ok = r.code === 0 && r.stdout.startsWith('SSH-');
  return { greeting: ok ? r.stdout : null, detail: `exit ${r.code}: ${r.stderr.trim()} ${r.stdout.trim()}` };
}
