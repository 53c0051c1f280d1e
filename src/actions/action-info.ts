/**
 * Values of the dynamic tags (§5.3 pass 2) for one ticket, computed on demand:
 * a reverse DNS lookup or a store query only happens when a command uses the
 * tag. Every value produced here is untrusted (it derives from log lines) and
 * only ever reaches a shell through ShellBinder.
 */
import { promises as dns } from 'node:dns';
import type { BanTicket } from '../bans/ticket.ts';
import { parseIp, reversePointer } from '../net/ip.ts';
import { filterTagToDataKey, pythonFloatText } from './tags.ts';

/** What the store serves for the history tags (`<ipmatches>`, `<ipjailfailures>`...). */
export interface BanHistory {
  /** Recorded matches for `ip`, in all jails when `jail` is undefined. */
  matches(ip: string, jail?: string): readonly string[] | Promise<readonly string[]>;
  /** Summed failures for `ip`, in all jails when `jail` is undefined. */
  failures(ip: string, jail?: string): number | Promise<number>;
}

export interface JailCounters {
  banned: number;
  bannedTotal: number;
  found: number;
  foundTotal: number;
}

/** Reverse lookup used by `<ip-host>`; null when there is no name. */
export type HostResolver = (ip: string) => Promise<string | null>;

/** The dynamic tags fail2ban's ActionInfo serves (F-* handled separately). */
export const DYNAMIC_TAGS = new Set([
  'ip',
  'fid',
  'family',
  'ip-rev',
  'ip-host',
  'failures',
  'time',
  'bantime',
  'bancount',
  'matches',
  'ipmatches',
  'ipjailmatches',
  'ipfailures',
  'ipjailfailures',
  'restored',
  'raw-ticket',
  'jail.banned',
  'jail.banned_total',
  'jail.found',
  'jail.found_total',
]);

export interface ActionInfoContext {
  jail: string;
  /** Jail bantime, used when the ticket carries none (pseudo tickets). */
  defaultBantime?: number;
  history?: BanHistory;
  jailCounters?: () => JailCounters;
  resolveHost?: HostResolver;
}

const hostCache = new Map<string, { name: string; until: number }>();
const HOST_CACHE_MS = 5 * 60 * 1000;

/** Reverse DNS with a 5-minute cache, as fail2ban's DNSUtils. */
export const defaultHostResolver: HostResolver = async (ip) => {
  const hit = hostCache.get(ip);
  if (hit && hit.until > Date.now()) return hit.name || null;
  let name = '';
  try {
    name = (await dns.reverse(ip))[0] ?? '';
  } catch {
    name = '';
  }
  hostCache.set(ip, { name, until: Date.now() + HOST_CACHE_MS });
  return name || null;
};

/** Text of a captured value: strings as they are, lists joined by newlines. */
function dataText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(dataText).join('\n');
  if (v instanceof Set) return [...v].map(dataText).join('\n');
  return String(v);
}

/**
 * Dynamic tag values for one ticket, or for the "empty" pseudo ticket of
 * start/stop/flush/reload (ticket = null): `<ip>` empty, `<failures>` 0,
 * `<time>` now, `<family>` the family being operated on.
 */
export class ActionInfo {
  private readonly ticket: BanTicket | null;
  private readonly family: string;
  private readonly now: number;

  constructor(
    ticket: BanTicket | null,
    private readonly ctx: ActionInfoContext,
    family?: string,
  ) {
    this.ticket = ticket;
    this.family = family ?? ticket?.family ?? '';
    this.now = Date.now() / 1000;
  }

  private get ip(): string {
    return this.ticket ? (this.ticket.ip ?? this.ticket.id) : '';
  }

  /** Value of a dynamic tag, or undefined when `tag` is not one. */
  async get(tag: string): Promise<string | undefined> {
    const t = this.ticket;
    switch (tag) {
      case 'ip':
        return this.ip;
      case 'fid':
        return t ? t.id : '';
      case 'family':
        return this.family;
      case 'ip-rev': {
        const ip = parseIp(this.ip);
        return ip ? reversePointer(ip) : '';
      }
      case 'ip-host': {
        if (!parseIp(this.ip)) return '';
        return (await (this.ctx.resolveHost ?? defaultHostResolver)(this.ip)) ?? '';
      }
      case 'failures':
        return String(t ? t.failures : 0);
      case 'time':
        return pythonFloatText(t ? t.time : this.now);
      case 'bantime':
        return String(Math.trunc(t ? t.bantime : (this.ctx.defaultBantime ?? 600)));
      case 'bancount':
        return String(t ? t.banCount : 0);
      case 'matches':
        return t ? t.matches.join('\n') : '';
      case 'restored':
        return t?.restored ? '1' : '0';
      case 'ipmatches':
      case 'ipjailmatches': {
        if (!t) return '';
        const h = this.ctx.history;
        if (!h) return t.matches.join('\n');
        const lines = await h.matches(this.ip, tag === 'ipjailmatches' ? this.ctx.jail : undefined);
        return lines.join('\n');
      }
      case 'ipfailures':
      case 'ipjailfailures': {
        if (!t) return '0';
        const h = this.ctx.history;
        if (!h) return String(t.failures);
        return String(await h.failures(this.ip, tag === 'ipjailfailures' ? this.ctx.jail : undefined));
      }
      case 'raw-ticket':
        return t ? JSON.stringify(t) : '';
      case 'jail.banned':
      case 'jail.banned_total':
      case 'jail.found':
      case 'jail.found_total': {
        const c = this.ctx.jailCounters?.();
        if (!c) return '0';
        const key = { 'jail.banned': 'banned', 'jail.banned_total': 'bannedTotal', 'jail.found': 'found', 'jail.found_total': 'foundTotal' } as const;
        return String(c[key[tag]]);
      }
      default:
        return undefined;
    }
  }

  /** `<F-NAME>` value: the captured group, empty when missing. */
  filterValue(name: string): string {
    if (!this.ticket) return '';
    return dataText(this.ticket.data[filterTagToDataKey(name)]);
  }
}
