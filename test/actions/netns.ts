/**
 * A throw-away pair of network namespaces joined by a veth pair, for real
 * firewall tests: `fw` holds the firewall and a TCP listener, `client`
 * connects to it. Nothing touches the host's network stack.
 */
import { spawn, spawnSync } from 'node:child_process';

export interface NetnsPair {
  fw: string;
  client: string;
  fw4: string;
  client4: string;
  fw6: string;
  client6: string;
  port: number;
  /** Tries a TCP connect from the client namespace: 'ok', an errno code, or 'timeout'. */
  connect(addr: string): Promise<string>;
  /** Runs a command inside the firewall namespace. */
  execFw(argv: string[]): { code: number | null; stdout: string; stderr: string };
  cleanup(): void;
}

function sh(argv: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

function must(argv: string[]): void {
  const r = sh(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
}

/**
 * Whether the netns tests may be skipped: only when MOAT_SKIP_NETNS=1.
 * Otherwise a machine that cannot create namespaces fails the tests.
 */
export const skipNetns = process.env.MOAT_SKIP_NETNS === '1';

export async function createNetnsPair(tag: string): Promise<NetnsPair> {
  const fw = `moat-t-${process.pid}-${tag}f`;
  const client = `moat-t-${process.pid}-${tag}c`;
  const created: string[] = [];
  const listeners: { kill(): void }[] = [];
  const cleanup = () => {
    for (const l of listeners) l.kill();
    for (const ns of created) sh(['ip', 'netns', 'del', ns]);
  };
  try {
    must(['ip', 'netns', 'add', fw]);
    created.push(fw);
    must(['ip', 'netns', 'add', client]);
    created.push(client);
    must(['ip', 'link', 'add', 'moatfw', 'netns', fw, 'type', 'veth', 'peer', 'name', 'moatcl', 'netns', client]);
    const setup = (ns: string, dev: string, v4: string, v6: string) => {
      must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      must(['ip', '-n', ns, 'addr', 'add', `${v4}/24`, 'dev', dev]);
      must(['ip', '-n', ns, 'addr', 'add', `${v6}/64`, 'dev', dev, 'nodad']);
      must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    };
    setup(fw, 'moatfw', '10.231.0.1', 'fd00:231::1');
    setup(client, 'moatcl', '10.231.0.2', 'fd00:231::2');
    const port = 8022;
    const server = spawn(
      'ip',
      ['netns', 'exec', fw, process.execPath, '-e',
        `require('net').createServer((s)=>{s.on('error',()=>{});s.end('hi')}).listen(${port},'::',()=>console.log('up'))`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    listeners.push({ kill: () => server.kill('SIGKILL') });
    await new Promise<void>((resolve, reject) => {
      server.stdout!.once('data', () => resolve());
      server.once('exit', (c) => reject(new Error(`listener exited ${c}`)));
    });
    const connect = (addr: string) =>
      new Promise<string>((resolve) => {
        const script = `const s=require('net').connect({host:${JSON.stringify(addr)},port:${port}});` +
          `const t=setTimeout(()=>{console.log('timeout');process.exit(0)},1500);` +
          `s.on('connect',()=>{console.log('ok');process.exit(0)});s.on('error',(e)=>{console.log(e.code);process.exit(0)})`;
        const c = spawn('ip', ['netns', 'exec', client, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        c.stdout!.on('data', (b: Buffer) => (out += b.toString()));
        c.on('close', () => resolve(out.trim()));
      });
    return {
      fw, client, fw4: '10.231.0.1', client4: '10.231.0.2', fw6: 'fd00:231::1', client6: 'fd00:231::2', port,
      connect,
      execFw: (argv) => sh(['ip', 'netns', 'exec', fw, ...argv]),
      cleanup,
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}
