/**
 * A throw-away pair of network namespaces joined by a veth pair, for real
 * firewall tests: `fw` holds the firewall and a TCP listener, `client`
 * connects to it. Nothing touches the host's network stack.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface NetnsPair {
  fw: string;
  client: string;
  fw4: string;
  client4: string;
  fw6: string;
  client6: string;
  /** Port of the TCP listener in the firewall namespace. */
  port: number;
  /** Tries a TCP connect from the client namespace: 'ok', an errno code, or 'timeout'. */
  connect(addr: string, timeoutMs?: number): Promise<string>;
  /** Runs a command inside the firewall namespace. */
  execFw(argv: string[]): RunResult;
  cleanup(): void;
}

function sh(argv: string[]): RunResult {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

function must(argv: string[]): void {
  const r = sh(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr}`);
}

/**
 * Whether the netns tests may be skipped: only when MOAT_SKIP_NETNS=1.
 * Otherwise a machine that cannot create namespaces fails the tests.
 */
export const skipNetns = process.env.MOAT_SKIP_NETNS === '1';

const FW4 = '10.231.0.1';
const CLIENT4 = '10.231.0.2';
const FW6 = 'fd00:231::1';
const CLIENT6 = 'fd00:231::2';
const PORT = 8022;

let counter = 0;

/** `tag` keeps the namespace names of one test process apart (default: a counter). */
export async function createNetnsPair(tag = String(++counter)): Promise<NetnsPair> {
  const fw = `moat-t-${process.pid}-${tag}f`;
  const client = `moat-t-${process.pid}-${tag}c`;
  const created: string[] = [];
  let listener: ChildProcess | undefined;
  const cleanup = () => {
    listener?.kill('SIGKILL');
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
    setup(fw, 'moatfw', FW4, FW6);
    setup(client, 'moatcl', CLIENT4, CLIENT6);
    const server = spawn(
      'ip',
      ['netns', 'exec', fw, process.execPath, '-e',
        `require('net').createServer((s)=>{s.on('error',()=>{});s.end('hi')}).listen(${PORT},'::',()=>console.log('up'))`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    listener = server;
    await new Promise<void>((resolve, reject) => {
      server.stdout!.once('data', () => resolve());
      server.once('exit', (c) => reject(new Error(`listener exited ${c}`)));
    });
  } catch (e) {
    cleanup();
    throw e;
  }
  const connect = (addr: string, timeoutMs = 1500) =>
    new Promise<string>((resolve) => {
      const script = `const s=require('net').connect({host:${JSON.stringify(addr)},port:${PORT}});` +
        `setTimeout(()=>{console.log('timeout');process.exit(0)},${timeoutMs});` +
        `s.on('connect',()=>{console.log('ok');process.exit(0)});s.on('error',(e)=>{console.log(e.code);process.exit(0)})`;
      const c = spawn('ip', ['netns', 'exec', client, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      c.on('close', () => resolve(out.trim()));
    });
  return {
    fw, client, fw4: FW4, client4: CLIENT4, fw6: FW6, client6: CLIENT6, port: PORT,
    connect,
    execFw: (argv) => sh(['ip', 'netns', 'exec', fw, ...argv]),
    cleanup,
  };
}
