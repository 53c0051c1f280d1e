/**
 * Runs real CPython `re` on a batch of cases, so expectations come from Python, not from us.
 * Offsets are converted to UTF-16 code units (JS string indices).
 */
import { spawnSync } from 'node:child_process';

export interface OracleCase {
  pattern: string;
  subject: string;
  pos?: number;
  mode?: 'search' | 'match';
  ignoreCase?: boolean;
  multiline?: boolean;
  /** Give Python this equivalent pattern instead (e.g. fail2ban's `((?i)X)` → `((?i:X))` rewrite). */
  pythonPattern?: string;
}

export type OracleResult =
  | { error: string; position: number | null }
  | {
      match: null | {
        span: [number, number];
        groups: ([number, number] | null)[]; // index 0 = group 1
        groupdict: Record<string, string | null>;
      };
    };

const SCRIPT = String.raw`
import json, re, sys
def u16(s, i):
    return len(s[:i].encode('utf-16-le')) // 2
def u16pos(s, i):
    # JS offset -> Python offset
    n = 0
    for k, c in enumerate(s):
        if n >= i: return k
        n += 2 if ord(c) > 0xffff else 1
    return len(s)
out = []
for c in json.load(sys.stdin):
    flags = (re.I if c.get('ignoreCase') else 0) | (re.M if c.get('multiline') else 0)
    try:
        r = re.compile(c.get('pythonPattern') or c['pattern'], flags)
    except re.error as e:
        out.append({'error': e.msg, 'position': e.pos}); continue
    s = c['subject']
    pos = u16pos(s, c.get('pos', 0))
    m = (r.match if c.get('mode') == 'match' else r.search)(s, pos)
    if m is None:
        out.append({'match': None}); continue
    groups = []
    for g in range(1, r.groups + 1):
        a, b = m.span(g)
        groups.append(None if a < 0 else [u16(s, a), u16(s, b)])
    out.append({'match': {'span': [u16(s, m.start()), u16(s, m.end())], 'groups': groups,
                          'groupdict': m.groupdict()}})
json.dump(out, sys.stdout)
`;

export function runPython(cases: OracleCase[]): OracleResult[] {
  const r = spawnSync('python3', ['-c', SCRIPT], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as OracleResult[];
}
