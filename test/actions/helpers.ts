/** Shared helpers for the action tests: tickets, temp dirs, definitions. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BanTicket } from '../../src/bans/ticket.ts';
import { ipFamily } from '../../src/net/ip.ts';
import { type ActionDefinition, emptyCommands, type Operation } from '../../src/actions/definition.ts';

export function ticket(ip: string, extra: Partial<BanTicket> = {}): BanTicket {
  return {
    jail: 'test',
    id: ip,
    ip,
    family: ipFamily(ip),
    time: 1795238403.553,
    bantime: 600,
    banCount: 1,
    failures: 3,
    matches: ['line one', 'line two'],
    data: {},
    restored: false,
    ...extra,
  };
}

export function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'moat-act-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export function definition(
  commands: Partial<Record<Operation, string>>,
  properties: Record<string, string> = {},
  extra: Partial<ActionDefinition> = {},
): ActionDefinition {
  return {
    name: 'test-action',
    file: 'action.d/test-action.conf',
    commands: { ...emptyCommands(), ...commands },
    actionstartOnDemand: null,
    actionrepairOnUnban: false,
    norestored: false,
    timeout: 10,
    properties,
    ...extra,
  };
}
