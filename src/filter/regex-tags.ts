/**
 * fail2ban's regex tags (<HOST>, <ADDR>, <F-USER>...</F-USER>, <SKIPLINES>, ...), expanded
 * into plain Python-regex text before compiling (reference §2.2). The expansions are the
 * contract with every filter written for fail2ban, so they are reproduced exactly.
 */

const IP4 = String.raw`(?:\d{1,3}\.){3}\d{1,3}`;
const IP6 = String.raw`(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):)`;

const R_IP4 = String.raw`(?:::f{4,6}:)?(?P<ip4>${IP4})`;
const R_IP6 = `(?P<ip6>${IP6})`;
const R_DNS = String.raw`(?P<dns>[\w\-.^_]*\w)`;
const R_ADDR = String.raw`\[?(?:${R_IP4}|${R_IP6})\]?`;
const R_HOST = `(?:${R_ADDR}|${R_DNS})`;
const R_CIDR = String.raw`(?P<cidr>\d+)`;
const R_SUBNET = String.raw`\[?(?:${R_IP4}|${R_IP6})(?:/${R_CIDR})?\]?`;

export const HOST_REGEX = R_HOST;
export const ADDR_REGEX = R_ADDR;

const STATIC_TAGS: Record<string, string> = {
  IP4: R_IP4,
  'F-IP4/': R_IP4,
  IP6: R_IP6,
  'F-IP6/': R_IP6,
  ADDR: R_ADDR,
  'F-ADDR/': R_ADDR,
  CIDR: R_CIDR,
  'F-CIDR/': R_CIDR,
  SUBNET: R_SUBNET,
  'F-SUBNET/': R_SUBNET,
  DNS: R_DNS,
  'F-DNS/': R_DNS,
  'F-ID/': String.raw`(?P<fid>\S+)`,
  'F-PORT/': String.raw`(?P<fport>\w+)`,
};

/** Group names with special meaning for failure ids. */
export const FAILURE_ID_GROUPS = ['fid', 'ip4', 'ip6', 'dns'] as const;
export const FAILURE_ID_PRESENT_GROUPS = ['fid', 'ip4', 'ip6', 'dns', 'mlfid'] as const;

const TAG_RE = /<\/?[\w-]+\/?>/g;
const CUSTOM_TAG_RE = /^(\/?)F-([A-Z0-9_-]+)$/;

/** Maps an F-NAME tag to its group name: lower-cased, ID → fid, PORT → fport. */
export function tagToGroupName(tag: string): string {
  const t = tag.toLowerCase();
  if (t === 'id') return 'fid';
  if (t === 'port') return 'fport';
  return t;
}

/**
 * Expands fail2ban regex tags. `usedns = no` makes <HOST> match addresses only.
 * Unknown tags stay literal (they may be literal text in the log, e.g. `<NOSRV>`).
 */
export function expandRegexTags(regex: string, usedns: string = 'yes'): string {
  const openTags = new Set<string>();
  let skipLines = 0;
  return regex.replace(TAG_RE, (tag) => {
    const name = tag.slice(1, -1);
    if (name === 'HOST') return usedns === 'no' ? R_ADDR : R_HOST;
    if (name === 'SKIPLINES') return String.raw`\n(?P<skiplines${skipLines++}>(?:(?:.*\n)*?))`;
    const fixed = STATIC_TAGS[name];
    if (fixed !== undefined) return fixed;
    const m = CUSTOM_TAG_RE.exec(name);
    if (!m) return tag;
    const [, closing, tn] = m as unknown as [string, string, string];
    if (closing) return openTags.has(tn) ? ')' : tag;
    openTags.add(tn);
    return `(?P<${tagToGroupName(tn)}>`;
  });
}

/**
 * Rewrites global inline flags used inside a group, `((?i)X)` or `(?:(?i)X)`, to the scoped
 * form `(?i:X)`, as fail2ban does before compiling (Python ≥ 3.11 rejects the former).
 */
export function globalFlagsToScoped(regex: string): string {
  return regex.replace(/(?<!\\)\((?:\?:)?(\(\?[a-z]+)\)/g, '$1:');
}
