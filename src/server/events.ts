/**
 * Events the daemon publishes to `watch` subscribers of the control socket.
 *
 * The daemon owns one `EventHub`; jails, the ban manager and the logger call
 * `publish()`; the control socket subscribes and fans events out to clients.
 * Publishing is synchronous and never waits for a subscriber: slow readers are
 * handled by the control socket's bounded per-subscriber queue.
 */

/** A failure was counted (fail2ban's "Found ip"). */
export interface FoundEvent {
  type: 'found';
  /** Epoch seconds of the failure (from the log line). */
  time: number;
  jail: string;
  ip: string;
  /** Failures of this id currently counted in the jail (after this one). */
  failures: number;
  /** The matched log line(s). */
  matches: string[];
}

/** An id was banned (by the filter, by `banip`, or again after a restart). */
export interface BanEvent {
  type: 'ban';
  time: number;
  jail: string;
  ip: string;
  /** Seconds; -1 = permanent. */
  bantime: number;
  banCount: number;
}

/** Bans restored from the store at start (the actions run again). */
export interface RestoreEvent {
  type: 'restore';
  time: number;
  jail: string;
  ip: string;
  bantime: number;
  banCount: number;
}

export interface UnbanEvent {
  type: 'unban';
  time: number;
  jail: string;
  ip: string;
  /** Why: the ban expired, or an operator/command removed it. */
  reason: 'expired' | 'manual' | 'reload' | 'stop';
}

export interface JailStartEvent {
  type: 'jail.start';
  time: number;
  jail: string;
}

export interface JailStopEvent {
  type: 'jail.stop';
  time: number;
  jail: string;
}

export interface ReloadEvent {
  type: 'reload';
  time: number;
  /** null = all jails. */
  jail: string | null;
  phase: 'begin' | 'end';
}

/** A daemon log record (the same text the log target receives). */
export interface LogEvent {
  type: 'log';
  time: number;
  /** fail2ban level name: CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG, ... */
  level: string;
  /** Logger name, e.g. `fail2ban.actions`. */
  logger: string;
  message: string;
}

/** Something failed in the daemon (an action command, a log source...). */
export interface ErrorEvent {
  type: 'error';
  time: number;
  /** MOAT_ERR_* code. */
  code: string;
  message: string;
  jail?: string;
}

/**
 * Sent by the control socket (never published by the daemon) when a subscriber
 * fell behind and its oldest queued events were dropped.
 */
export interface OverflowEvent {
  type: 'overflow';
  dropped: number;
}

export type DaemonEvent =
  | FoundEvent
  | BanEvent
  | RestoreEvent
  | UnbanEvent
  | JailStartEvent
  | JailStopEvent
  | ReloadEvent
  | LogEvent
  | ErrorEvent;

export type StreamEvent = DaemonEvent | OverflowEvent;

export type DaemonEventType = DaemonEvent['type'];

export const DAEMON_EVENT_TYPES: readonly DaemonEventType[] = [
  'found',
  'ban',
  'unban',
  'restore',
  'jail.start',
  'jail.stop',
  'reload',
  'log',
  'error',
];

/**
 * What a `watch` subscriber wants. Empty sets mean "everything".
 * `log` events are only sent when asked for explicitly (they are chatty).
 */
export interface EventFilter {
  types: Set<DaemonEventType>;
  jails: Set<string>;
}

/**
 * Parses the words after `watch`:
 *   `type=ban,unban`  event types;      `jail=sshd,nginx`  jails;
 *   a bare word is an event type when it names one, otherwise a jail.
 * Returns an error message for words that cannot be understood.
 */
export function parseEventFilter(words: readonly unknown[]): EventFilter | string {
  const filter: EventFilter = { types: new Set(), jails: new Set() };
  for (const word of words) {
    if (typeof word !== 'string' || word === '') return `watch filter must be a non-empty string, got ${JSON.stringify(word)}`;
    const eq = word.indexOf('=');
    const key = eq < 0 ? null : word.slice(0, eq);
    const values = (eq < 0 ? word : word.slice(eq + 1)).split(',').filter((v) => v !== '');
    if (key === 'type' || (key === null && values.every(isEventType))) {
      for (const v of values) {
        if (!isEventType(v)) return `unknown event type '${v}' (known: ${DAEMON_EVENT_TYPES.join(', ')})`;
        filter.types.add(v);
      }
    } else if (key === 'jail' || key === null) {
      for (const v of values) filter.jails.add(v);
    } else {
      return `unknown watch filter '${key}' (use type=... or jail=...)`;
    }
  }
  return filter;
}

export function isEventType(v: string): v is DaemonEventType {
  return (DAEMON_EVENT_TYPES as readonly string[]).includes(v);
}

export function eventMatches(filter: EventFilter, event: DaemonEvent): boolean {
  if (filter.types.size > 0 ? !filter.types.has(event.type) : event.type === 'log') return false;
  if (filter.jails.size > 0) {
    const jail = 'jail' in event ? event.jail : undefined;
    // Events not tied to a jail (log, reload of all) pass a jail filter only when typed explicitly.
    if (typeof jail === 'string') return filter.jails.has(jail);
    return filter.types.has(event.type);
  }
  return true;
}

export type EventListener = (event: DaemonEvent) => void;

/** Synchronous fan-out; a throwing listener is isolated from the others and from the publisher. */
export class EventHub {
  readonly #listeners = new Set<EventListener>();

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(event: DaemonEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A subscriber's bug must never break the ban path that published the event.
      }
    }
  }

  get size(): number {
    return this.#listeners.size;
  }
}
