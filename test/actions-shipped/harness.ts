/**
 * Test plumbing for the shipped actions: a driver process running one action under
 * `ip netns exec` (the namespaces come from test/helpers/netns.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const shippedConfig = join(repoRoot, 'config');

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
