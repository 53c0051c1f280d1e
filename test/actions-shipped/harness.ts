/**
 * Test plumbing for the shipped actions: a namespace pair (firewall + client
 * joined by a veth pair, a TCP listener in the firewall namespace) and a
 * driver process running one action under `ip netns exec`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const shippedConfig = join(repoRoot, 'config');

/** Only MOAT_SKIP_NETNS=1 skips; anything else that prevents namespaces fails the tests. */
export const skipNetns = process.env.MOAT_SKIP_NETNS === '1';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(argv: string[]): Run {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

function must(argv: string[]): void {
  const r = run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr}`);
}

let counter = 0;

export interface Netns {
  fw: string;
  client: string;
  fw4: string;
  fw6: string;
  client4: string;
  client6: string;
  /** Runs argv inside the firewall namespace. */
  fwRun(argv: string[]): Run;
  /** TCP connect from the client namespace to the listener: 'ok', an errno code or 'timeout'. */
  connect(addr: string, timeoutMs?: number): Promise<string>;
  cleanup(): void;
}

const PORT = 8022;

export async function createNetns(): Promise<Netns> {
  const n = ++counter;
  const fw = `moat-act-${process.pid}-${n}`;
  const client = `moat-act-${process.pid}-${n}c`;
  const created: string[] = [];
  let listener: ChildProcess | undefined;
  const cleanup = () => {
    if (listener?.pid) listener.kill('SIGKILL');
    for (const ns of created) run(['ip', 'netns', 'del', ns]);
  };
  try {
    must(['ip', 'netns', 'add', fw]);
    created.push(fw);
    must(['ip', 'netns', 'add', client]);
    created.push(client);
    must(['ip', 'link', 'add', 'mfw', 'netns', fw, 'type', 'veth', 'peer', 'name', 'mcl', 'netns', client]);
    const up = (ns: string, dev: string, v4: string, v6: string) => {
      must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      must(['ip', '-n', ns, 'addr', 'add', `${v4}/24`, 'dev', dev]);
      must(['ip', '-n', ns, 'addr', 'add', `${v6}/64`, 'dev', dev, 'nodad']);
      must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    };
    up(fw, 'mfw', '10.232.0.1', 'fd00:232::1');
    up(client, 'mcl', '10.232.0.2', 'fd00:232::2');
    listener = spawn(
      'ip',
      ['netns', 'exec', fw, process.execPath, '-e',
        `require('net').createServer((s)=>{s.on('error',()=>{});s.end('hi')}).listen(${PORT},'::',()=>console.log('up'))`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const l = listener;
    await new Promise<void>((res, rej) => {
      l.stdout!.once('data', () => res());
      l.once('exit', (c) => rej(new Error(`listener exited with ${c}`)));
    });
  } catch (e) {
    cleanup();
    throw e;
  }
  const connect = (addr: string, timeoutMs = 1500) =>
    new Promise<string>((res) => {
      const script =
        `const s=require('net').connect({host:${JSON.stringify(addr)},port:${PORT}});` +
        `setTimeout(()=>{console.log('timeout');process.exit(0)},${timeoutMs});` +
        `s.on('connect',()=>{console.log('ok');process.exit(0)});s.on('error',(e)=>{console.log(e.code);process.exit(0)})`;
      const c = spawn('ip', ['netns', 'exec', client, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      c.on('close', () => res(out.trim()));
    });
  return {
    fw, client, fw4: '10.232.0.1', fw6: 'fd00:232::1', client4: '10.232.0.2', client6: 'fd00:232::2',
    fwRun: (argv) => run(['ip', 'netns', 'exec', fw, ...argv]),
    connect,
    cleanup,
  };
}

export interface DriverReply {
  ok: boolean;
  result?: unknown;
  error?: string;
  log: string[];
}

/** One action of config/action.d, run by the real CommandAction inside the namespace. */
export class ActionDriver {
  private readonly child: ChildProcess;
  private readonly lines: Interface;
  private readonly pending: ((line: string) => void)[] = [];

  constructor(ns: string, ref: string, opts: { jail?: string; configDir?: string } = {}) {
    const spec = { configDir: opts.configDir ?? shippedConfig, ref, jail: opts.jail ?? 'sshd' };
    this.child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(repoRoot, 'test/actions-shipped/ns-driver.ts'), JSON.stringify(spec)],
      { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    this.lines = createInterface({ input: this.child.stdout! });
    this.lines.on('line', (line) => this.pending.shift()?.(line));
  }

  request(op: string, extra: Record<string, unknown> = {}): Promise<DriverReply> {
    return new Promise((res, rej) => {
      const onExit = (code: number | null) => rej(new Error(`action driver exited (${code}) during ${op}`));
      this.child.once('exit', onExit);
      this.pending.push((line) => {
        this.child.off('exit', onExit);
        res(JSON.parse(line) as DriverReply);
      });
      this.child.stdin!.write(JSON.stringify({ op, ...extra }) + '\n');
    });
  }

  /** Like request, but a failed operation fails the test with the action's log. */
  async must(op: string, extra: Record<string, unknown> = {}): Promise<DriverReply> {
    const r = await this.request(op, extra);
    if (!r.ok) throw new Error(`${op} ${JSON.stringify(extra)} failed: ${r.error}\n${r.log.join('\n')}`);
    return r;
  }

  close(): void {
    this.child.stdin!.end();
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}
