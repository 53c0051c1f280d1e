/**
 * What the native nftables backend creates, as nft script text: one table
 * (shared by jails), one base chain per jail, and per jail four sets —
 * single addresses in hash sets (`addr-set-NAME`, `addr6-set-NAME`, fast to
 * load) and networks in interval sets (`addr-net-NAME`, `addr6-net-NAME`).
 * Every set has per-element timeouts. Only validated tokens reach this text:
 * config values are checked against strict patterns, addresses are
 * canonicalised by src/net/ip.ts.
 */
import { ConfigValueError, type ErrorLocation } from '../../errors.ts';
import type { Family } from '../../net/ip.ts';
import type { ActionDefinition } from '../definition.ts';
import { replaceStaticTags, resolvePropertyTags } from '../tags.ts';

export interface NftRuleset {
  /** Jail / action name; part of chain and set names. */
  name: string;
  table: string;
  /** Always `inet` for the native backend (one table for IPv4 and IPv6). */
  tableFamily: 'inet';
  /** Base chain name (per jail). */
  chain: string;
  chainType: string;
  hook: string;
  priority: number;
  type: 'multiport' | 'allports';
  /** Port list as nft text: `22, 80, 1000-2000` (names allowed). */
  ports: string[];
  protocols: string[];
  /** Statement applied to banned sources: `reject`, `drop`, `reject with icmpx type admin-prohibited`... */
  blocktype: string;
}

export type SetKind = 'addr' | 'net';

export function setName(rs: NftRuleset, family: Family, kind: SetKind): string {
  return `${family === 'inet4' ? 'addr' : 'addr6'}-${kind === 'addr' ? 'set' : 'net'}-${rs.name}`;
}

export function allSets(rs: NftRuleset): { family: Family; kind: SetKind; name: string }[] {
  const out: { family: Family; kind: SetKind; name: string }[] = [];
  for (const family of ['inet4', 'inet6'] as const)
    for (const kind of ['addr', 'net'] as const) out.push({ family, kind, name: setName(rs, family, kind) });
  return out;
}

/** Script creating (idempotently) table, chain, sets and the chain's rules. */
export function setupScript(rs: NftRuleset): string {
  const t = `${rs.tableFamily} ${rs.table}`;
  const lines = [
    `add table ${t}`,
    `add chain ${t} ${rs.chain} { type ${rs.chainType} hook ${rs.hook} priority ${rs.priority}; }`,
  ];
  for (const s of allSets(rs)) {
    const type = s.family === 'inet4' ? 'ipv4_addr' : 'ipv6_addr';
    const flags = s.kind === 'net' ? 'interval, timeout' : 'timeout';
    lines.push(`add set ${t} ${s.name} { type ${type}; flags ${flags}; }`);
  }
  // rules are rebuilt every time so a repaired or reconfigured jail ends up exact
  lines.push(`flush chain ${t} ${rs.chain}`);
  for (const s of allSets(rs)) {
    const saddr = `${s.family === 'inet4' ? 'ip' : 'ip6'} saddr @${s.name}`;
    if (rs.type === 'allports') {
      lines.push(`add rule ${t} ${rs.chain} meta l4proto { ${rs.protocols.join(', ')} } ${saddr} ${rs.blocktype}`);
    } else {
      for (const proto of rs.protocols)
        lines.push(`add rule ${t} ${rs.chain} ${proto} dport { ${rs.ports.join(', ')} } ${saddr} ${rs.blocktype}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Script removing this jail's chain and sets (the table is removed separately when empty). */
export function teardownScript(rs: NftRuleset): string {
  const t = `${rs.tableFamily} ${rs.table}`;
  return [`delete chain ${t} ${rs.chain}`, ...allSets(rs).map((s) => `delete set ${t} ${s.name}`)].join('\n') + '\n';
}

export function flushScript(rs: NftRuleset): string {
  const t = `${rs.tableFamily} ${rs.table}`;
  return allSets(rs).map((s) => `flush set ${t} ${s.name}`).join('\n') + '\n';
}

// ---- reading the options of a stock nftables*.conf action ----

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const WORD_RE = /^[a-z][a-z0-9_-]*$/;
const PORT_RE = /^[A-Za-z0-9_-]+$/;
const BLOCKTYPE_RE = /^[a-z][a-z0-9 _-]*$/;

/** True when the action is one of the stock nftables actions (served natively). */
export function isNftablesAction(def: Pick<ActionDefinition, 'file' | 'name'>): boolean {
  const base = def.file.split('/').pop() ?? '';
  return /^nftables(-multiport|-allports)?(\.conf|\.local)?$/.test(base);
}

/**
 * Builds the native ruleset from an nftables action definition: the same
 * properties the stock file uses (`table`, `chain`, `port`, `protocol`,
 * `blocktype`, `chain_hook`, `chain_priority`, `type`...), resolved the way
 * the shell action would resolve them, then validated.
 */
export function rulesetFromDefinition(def: ActionDefinition, jail: string): NftRuleset {
  const props: Record<string, string> = { name: jail, ...def.properties };
  const resolved = resolvePropertyTags(props, '', { file: def.file });
  const get = (key: string, dflt: string): string => {
    const raw = resolved[key];
    return raw === undefined ? dflt : replaceStaticTags(raw, resolved, '', { file: def.file, option: key }).trim();
  };
  const where = (option: string): ErrorLocation => ({ file: def.file, option });
  const check = (option: string, value: string, re: RegExp): string => {
    if (!re.test(value)) throw new ConfigValueError(`invalid value '${value}' for the nftables backend`, where(option));
    return value;
  };
  const name = check('name', get('name', jail), NAME_RE);
  const base = def.file.split('/').pop() ?? '';
  const typeText = get('type', /allports/.test(base) ? 'allports' : 'multiport');
  if (typeText !== 'multiport' && typeText !== 'allports') {
    throw new ConfigValueError(`unsupported type '${typeText}' (multiport or allports)`, where('type'));
  }
  const tableFamily = get('table_family', 'inet');
  if (tableFamily !== 'inet') {
    throw new ConfigValueError(`the nftables backend uses an inet table, not '${tableFamily}'`, where('table_family'));
  }
  const priorityText = get('chain_priority', '-1');
  if (!/^-?\d+$/.test(priorityText)) throw new ConfigValueError(`invalid priority '${priorityText}'`, where('chain_priority'));
  const ports = get('port', 'ssh')
    .split(',')
    .map((p) => p.trim().replace(/:/g, '-'))
    .filter(Boolean);
  for (const p of ports) if (!p.split('-').every((x) => PORT_RE.test(x))) check('port', p, /^$/);
  if (ports.length === 0) throw new ConfigValueError('no port given', where('port'));
  const protocols = get('protocol', 'tcp')
    .split(/[,\s]+/)
    .filter(Boolean)
    .map((p) => check('protocol', p, WORD_RE));
  return {
    name,
    table: check('table', get('table', 'f2b-table'), NAME_RE),
    tableFamily: 'inet',
    chain: `${check('chain', get('chain', 'f2b-chain'), NAME_RE)}-${name}`,
    chainType: check('chain_type', get('chain_type', 'filter'), WORD_RE),
    hook: check('chain_hook', get('chain_hook', 'input'), WORD_RE),
    priority: Number(priorityText),
    type: typeText,
    ports,
    protocols,
    blocktype: check('blocktype', get('blocktype', 'reject'), BLOCKTYPE_RE),
  };
}
