/** Shared helpers for the source tests: temp dirs, a line collector, event waits. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceContext, SourceLine, SourceLogger } from '../../src/sources/types.ts';

export function tempDir(prefix = 'moat-src-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Resolves when `predicate` holds, checking after every event-loop turn that could change it. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Collector {
  lines: SourceLine[] = [];
  batches: { lines: SourceLine[]; ctx: SourceContext }[] = [];
  onLine: ((line: SourceLine, ctx: SourceContext) => void) | null = null;

  readonly onLines = (lines: SourceLine[], ctx: SourceContext): void => {
    this.batches.push({ lines, ctx });
    for (const l of lines) {
      this.lines.push(l);
      this.onLine?.(l, ctx);
    }
  };

  get texts(): string[] {
    return this.lines.map((l) => l.text);
  }

  async waitCount(n: number, timeoutMs = 5000): Promise<void> {
    await waitFor(() => this.lines.length >= n, timeoutMs, `${n} lines (have ${this.lines.length})`);
  }
}

export class LogCapture implements SourceLogger {
  messages: { level: string; message: string }[] = [];
  debug = (m: string) => void this.messages.push({ level: 'debug', message: m });
  info = (m: string) => void this.messages.push({ level: 'info', message: m });
  notice = (m: string) => void this.messages.push({ level: 'notice', message: m });
  warning = (m: string) => void this.messages.push({ level: 'warning', message: m });
  error = (m: string) => void this.messages.push({ level: 'error', message: m });
  has(level: string, re: RegExp): boolean {
    return this.messages.some((m) => m.level === level && re.test(m.message));
  }
}
