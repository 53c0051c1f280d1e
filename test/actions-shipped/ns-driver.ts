/**
 * Runs one shipped action.d action with the real CommandAction, driven line
 * by line over stdin (NDJSON). The test starts it under `ip netns exec NS`,
 * so every command the action runs (nft, iptables, ipset, ip) acts on that
 * namespace only.
 *
 *   argv[2]: {"configDir", "ref", "jail"}
 *   request:  {"op": "start"|"ban"|"reban"|"unban"|"flush"|"stop"|"check", "ip"?: string, "bantime"?: number}
 *   reply:    {"ok": boolean, "result"?: unknown, "error"?: string, "log": string[]}
 */
import { createInterface } from 'node:readline';
import { CommandAction } from '../../src/actions/action.ts';
import type { BanTicket } from '../../src/bans/ticket.ts';
import { readAction } from '../../src/config/index.ts';
import { ipFamily } from '../../src/net/ip.ts';

interface Spec {
  configDir: string;
  ref: string;
  jail: string;
}

interface Request {
  op: 'start' | 'ban' | 'reban' | 'unban' | 'flush' | 'stop' | 'check';
  ip?: string;
  bantime?: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
let log: string[] = [];
const def = readAction(spec.ref, { configDir: spec.configDir, jailName: spec.jail });
const action = new CommandAction(def, { jail: spec.jail, logger: (level, message) => log.push(`${level}: ${message}`) });

function ticket(ip: string, bantime: number): BanTicket {
  return {
    jail: spec.jail,
    id: ip,
    ip,
    family: ipFamily(ip),
    time: Date.now() / 1000,
    bantime,
    banCount: 1,
    failures: 5,
    matches: [`failure from ${ip}`],
    data: {},
    restored: false,
  };
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case 'start':
      return action.start();
    case 'ban':
      return action.ban(ticket(req.ip!, req.bantime ?? 600));
    case 'reban':
      return action.reban(ticket(req.ip!, req.bantime ?? 600));
    case 'unban':
      return action.unban(ticket(req.ip!, req.bantime ?? 600));
    case 'flush':
      return action.flush();
    case 'stop':
      return action.stop();
    case 'check':
      return action.consistencyCheck();
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  log = [];
  let reply: { ok: boolean; result?: unknown; error?: string; log: string[] };
  try {
    const result = await handle(JSON.parse(line) as Request);
    reply = { ok: true, result, log };
  } catch (e) {
    reply = { ok: false, error: e instanceof Error ? e.message : String(e), log };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
}
