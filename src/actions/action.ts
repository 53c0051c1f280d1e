/**
 * The runtime of one action.d action in one jail (fail2ban's CommandAction,
 * §5): start/stop/ban/unban/flush/check/repair/reban/prolong/reload with
 * per-family state, start on demand, invariant check + repair, ban epochs.
 *
 * Commands run as `/bin/sh -c SCRIPT`; configuration is substituted as text,
 * ticket values travel as environment variables (shell-bind.ts). All
 * operations of one jail are serialised (KeyedSerialQueue keyed by jail), so a
 * jail's commands keep their order while other jails proceed in parallel.
 */
import type { BanTicket } from '../bans/ticket.ts';
import { parseConfigBool } from '../config/convert.ts';
import { ActionError } from '../errors.ts';
import { ActionInfo, type ActionInfoContext } from './action-info.ts';
import { describeFailure, KeyedSerialQueue, resultOk, runShell, type RunResult } from './command.ts';
import type { ActionDefinition, Operation } from './definition.ts';
import { OPERATIONS } from './definition.ts';
import { bindDynamicTags, type DynamicTagSource } from './shell-bind.ts';
import { fallbackTag, hasConditionalSection, replaceStaticTags, resolvePropertyTags } from './tags.ts';

export type ActionLogLevel = 'debug' | 'info' | 'warning' | 'error' | 'critical';
export type ActionLogger = (level: ActionLogLevel, message: string) => void;

/** Shared by all actions of a jail: incremented when any of them had to be repaired. */
export interface BanEpoch {
  value: number;
}

/** What the jail/ban manager drives; implemented by CommandAction and NftAction. */
export interface JailAction {
  readonly name: string;
  /** Skip this action for tickets restored from the store. */
  readonly norestored: boolean;
  /** Epoch this action was last (re)built in; tickets banned earlier need a reban. */
  readonly banEpoch: number;
  /** True when the action has an actionprolong command. */
  readonly prolongable: boolean;
  /** True when `flush()` replaces per-ticket unbans. */
  readonly hasFlush: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  ban(ticket: BanTicket): Promise<void>;
  reban(ticket: BanTicket): Promise<void>;
  unban(ticket: BanTicket): Promise<void>;
  prolong(ticket: BanTicket): Promise<void>;
  flush(): Promise<boolean>;
  reload(): Promise<void>;
  /** Runs actioncheck for started families, repairing when broken; false when not sane. */
  consistencyCheck(beforeRepair?: () => boolean): Promise<boolean>;
}

export interface ActionContext extends ActionInfoContext {
  /** Families an action with conditional sections serves; inet6 only when allowed. Default true. */
  allowIpv6?: boolean;
  /** The jail's ban epoch (shared by its actions). */
  epoch?: BanEpoch;
  /** Serialisation of command execution; keyed by jail name. A private queue when omitted. */
  queue?: KeyedSerialQueue;
  logger?: ActionLogger;
  /** Output bytes kept per stream of a command. */
  maxOutput?: number;
}

// Bits of the per-family state, as fail2ban's __started values.
const STARTED = 1;
const HAS_BANS = 2;

const noLog: ActionLogger = () => undefined;

export class CommandAction implements JailAction {
  readonly name: string;
  readonly definition: ActionDefinition;
  private readonly ctx: ActionContext;
  private readonly queue: KeyedSerialQueue;
  private readonly log: ActionLogger;
  private readonly props: Record<string, string>;
  private readonly resolvedByFamily = new Map<string, Record<string, string>>();
  /** family → STARTED | HAS_BANS bits. */
  private readonly started = new Map<string, number>();
  /** operation → family → command last executed successfully (avoids running identical commands twice). */
  private readonly executed = new Map<string, Map<string, string>>();
  private ownEpoch = 0;

  constructor(def: ActionDefinition, ctx: ActionContext) {
    this.definition = def;
    this.name = def.name;
    this.ctx = ctx;
    this.queue = ctx.queue ?? new KeyedSerialQueue();
    this.log = ctx.logger ?? noLog;
    this.props = buildProperties(def, ctx.jail);
  }

  get norestored(): boolean {
    return this.definition.norestored;
  }
  get prolongable(): boolean {
    return this.definition.commands.actionprolong.trim() !== '';
  }
  get hasFlush(): boolean {
    return this.definition.commands.actionflush.trim() !== '';
  }
  get banEpoch(): number {
    return this.ownEpoch;
  }
  get hasConditionalSection(): boolean {
    return hasConditionalSection(this.props);
  }
  /** Families this action serves: inet4/inet6 when it has `?family=` properties, else the single family ''. */
  get families(): string[] {
    if (!this.hasConditionalSection) return [''];
    return this.ctx.allowIpv6 === false ? ['inet4'] : ['inet4', 'inet6'];
  }
  get startOnDemand(): boolean {
    return this.definition.actionstartOnDemand ?? this.hasConditionalSection;
  }
  /** Families whose start command ran (for status and tests). */
  startedFamilies(): string[] {
    return [...this.started].filter(([, v]) => v & STARTED).map(([f]) => f);
  }
  /** Families in which this action banned something not yet flushed/unbanned. */
  familiesWithBans(): string[] {
    return [...this.started].filter(([, v]) => (v & (STARTED | HAS_BANS)) === (STARTED | HAS_BANS)).map(([f]) => f);
  }

  start(): Promise<void> {
    return this.serial(() => this.doStart(undefined, false));
  }
  stop(): Promise<void> {
    return this.serial(() => this.doStop());
  }
  ban(ticket: BanTicket): Promise<void> {
    return this.serial(() => this.doBan(ticket, 'actionban'));
  }
  reban(ticket: BanTicket): Promise<void> {
    const op = this.definition.commands.actionreban ? 'actionreban' : 'actionban';
    return this.serial(() => this.doBan(ticket, op));
  }
  prolong(ticket: BanTicket): Promise<void> {
    return this.serial(async () => {
      if (!(await this.processCommand('actionprolong', ticket))) {
        throw new ActionError(`Error prolonging ${ticketIp(ticket)}`);
      }
    });
  }
  unban(ticket: BanTicket): Promise<void> {
    return this.serial(async () => {
      const family = this.stateFamily(ticket);
      if (!((this.started.get(family) ?? 0) & HAS_BANS)) return;
      if (!(await this.processCommand('actionunban', ticket))) {
        throw new ActionError(`Error unbanning ${ticketIp(ticket)}`);
      }
    });
  }
  flush(): Promise<boolean> {
    return this.serial(async () => {
      const families = this.familiesWithBans();
      if (families.length === 0) return true;
      await this.executeOperation('actionflush', 'flushing', families, (family, ok) => {
        const v = this.started.get(family);
        if (ok && v) this.started.set(family, v & ~HAS_BANS);
      });
      return true;
    });
  }
  reload(): Promise<void> {
    return this.serial(() => this.executeOperation('actionreload', 'reloading'));
  }
  consistencyCheck(beforeRepair?: () => boolean): Promise<boolean> {
    return this.serial(async () => {
      if (!this.definition.commands.actioncheck) return true;
      let ok = true;
      for (const [family, v] of [...this.started]) {
        if (v && (await this.invariantCheck(family, beforeRepair, true)) !== 1) {
          this.started.set(family, 0);
          this.setExecuted('actionstart', family, null);
          ok = false;
        }
      }
      return ok;
    });
  }

  /**
   * `set JAIL action ACT PROPERTY VALUE`: changes an operation or a property in place, like
   * fail2ban's CommandAction.__setattr__: the substitution cache is dropped, the started/banned
   * state is kept. `bantime` (a dynamic tag) is ignored; `timeout` must already be in seconds.
   */
  setProperty(key: string, value: string): void {
    if (key === 'bantime') return;
    const def = this.definition;
    if ((OPERATIONS as readonly string[]).includes(key)) def.commands[key as Operation] = value;
    else if (key === 'timeout') def.timeout = Number(value);
    else if (key === 'actionstart_on_demand') def.actionstartOnDemand = value === '' ? null : parseConfigBool(value);
    else if (key === 'actionrepair_on_unban') def.actionrepairOnUnban = parseConfigBool(value);
    else if (key === 'norestored') def.norestored = parseConfigBool(value);
    else def.properties[key] = value;
    if (!key.startsWith('_')) this.props[key] = value;
    this.resolvedByFamily.clear();
  }

  /** Bumps the jail epoch (tickets banned before will be rebanned on their next "already banned"). */
  invalidateBanEpoch(): void {
    if (this.ctx.epoch) {
      this.ctx.epoch.value += 1;
      this.ownEpoch = this.ctx.epoch.value;
    } else this.ownEpoch += 1;
  }

  /** Operation text after the static pass and `<family>` (what fail2ban's _getOperation returns), for inspection. */
  async commandFor(op: Operation, family: string): Promise<string> {
    return (await this.operationCommand(op, family)).script;
  }

  // ---- internals (called inside the serial section) ----

  private serial<T>(task: () => Promise<T>): Promise<T> {
    return this.queue.run(this.ctx.jail, task);
  }

  private resolvedProps(family: string): Record<string, string> {
    let r = this.resolvedByFamily.get(family);
    if (!r) {
      r = resolvePropertyTags(this.props, family ? `family=${family}` : '', { file: this.definition.file });
      this.resolvedByFamily.set(family, r);
    }
    return r;
  }

  private staticCommand(op: Operation, family: string): string {
    const cmd = this.definition.commands[op] ?? '';
    if (!cmd) return '';
    return replaceStaticTags(`<${op}>`, this.resolvedProps(family), family ? `family=${family}` : '', {
      file: this.definition.file,
      option: op,
    });
  }

  /** Static pass + `<family>` as a dynamic value (`<F-*>` become empty), as used by start/stop/check/repair. */
  private async operationCommand(op: Operation, family: string): Promise<{ script: string; env: Record<string, string> }> {
    const cmd = this.staticCommand(op, family);
    if (!family || !cmd.includes('<')) return { script: cmd, env: {} };
    return bindDynamicTags(cmd, familyOnlySource(family), () => undefined);
  }

  private async exec(op: Operation, script: string, env: Record<string, string>): Promise<boolean> {
    if (!script.trim()) return true;
    const timeout = this.definition.timeout > 0 ? this.definition.timeout : 60;
    const r = await runShell(script, { timeout, env, maxOutput: this.ctx.maxOutput ?? 64 * 1024 });
    this.logResult(op, script, r, timeout);
    return resultOk(r);
  }

  private logResult(op: Operation, script: string, r: RunResult, timeout: number): void {
    const id = `${this.ctx.jail}/${this.name}/${op}`;
    if (resultOk(r)) {
      this.log('debug', `${id} -- ok (${r.durationMs} ms)`);
      return;
    }
    this.log('error', `${id} -- ${describeFailure(r, timeout)}`);
    this.log('error', `${id} -- cmd: ${JSON.stringify(script)}`);
    for (const line of r.stdout.split('\n').filter(Boolean)) this.log('error', `${id} -- stdout: ${JSON.stringify(line)}`);
    for (const line of r.stderr.split('\n').filter(Boolean)) this.log('error', `${id} -- stderr: ${JSON.stringify(line)}`);
    if (r.code === 127) this.log('info', `HINT on 127: "Command not found". Make sure that all commands in ${JSON.stringify(script)} are in the PATH of moatd.`);
  }

  private otherFamiliesExecuted(op: Operation, family: string): string[] {
    const m = this.executed.get(op);
    return m ? [...m].filter(([f]) => f !== family).map(([, c]) => c) : [];
  }

  /** Remember (cmd) or forget (null: this family and all with the same command) an executed operation. */
  private setExecuted(op: Operation, family: string, cmd: string | null): void {
    let m = this.executed.get(op);
    if (cmd) {
      if (!m) this.executed.set(op, (m = new Map()));
      m.set(family, cmd);
      return;
    }
    if (!m) return;
    const prev = m.get(family);
    m.delete(family);
    if (prev !== undefined) for (const [f, c] of [...m]) if (c === prev) m.delete(f);
  }

  /** Runs an operation without ticket for each family (default: all started ones). */
  private async executeOperation(
    op: Operation,
    verb: string,
    families?: string[],
    afterExec?: (family: string, ok: boolean) => void,
  ): Promise<void> {
    const fams = families ?? this.startedFamilies();
    let ok = true;
    let err: unknown;
    for (const family of fams) {
      try {
        const staticCmd = this.staticCommand(op, family);
        // identity of the command for this family (fail2ban compares the text after <family> substitution)
        const cmd = family ? staticCmd.split('<family>').join(family) : staticCmd;
        let ret = true;
        if (cmd && !this.otherFamiliesExecuted(op, family).includes(cmd)) {
          const info = new ActionInfo(null, this.ctx, family);
          const bound = await bindDynamicTags(staticCmd, info, fallbackTag);
          ret = await this.exec(op, bound.script, bound.env);
          ok &&= ret;
        }
        afterExec?.(family, ret);
        this.setExecuted(op, family, ret ? cmd : null);
      } catch (e) {
        ok = false;
        err = e;
      }
    }
    if (!ok) {
      throw new ActionError(`Error ${verb} action ${this.ctx.jail}/${this.name}${err ? `: ${errorText(err)}` : ''}`, {
        cause: err,
      });
    }
  }

  private async doStart(family: string | undefined, force: boolean): Promise<void> {
    if (this.startOnDemand) {
      if (!force) return;
    } else if (!force && family !== undefined && this.started.get(family)) return;
    const fams = family !== undefined ? [family] : this.families;
    await this.executeOperation('actionstart', 'starting', fams, (f, ok) => {
      if (ok) {
        this.setExecuted('actionstop', f, null);
        this.started.set(f, STARTED);
      }
    });
  }

  private async doStop(family?: string): Promise<void> {
    let fams: string[];
    if (family === undefined) {
      fams = [...this.started].filter(([, v]) => v).map(([f]) => f);
      if (fams.length === 0) return;
      this.started.clear();
    } else {
      if (!this.started.has(family)) return;
      this.started.set(family, 0);
      fams = [family];
    }
    await this.executeOperation('actionstop', 'stopping', fams, (f, ok) => {
      if (ok) this.setExecuted('actionstart', f, null);
    });
  }

  /**
   * The family whose state a ticket touches. fail2ban keys the state by the
   * ticket's family even for actions without `?family=` properties, so such an
   * action started for '' cannot be restarted by a repair of an inet4 ticket;
   * we fold them into '' (the one family such an action has).
   */
  private stateFamily(ticket: BanTicket): string {
    return this.hasConditionalSection ? (ticket.family ?? '') : '';
  }

  private async doBan(ticket: BanTicket, op: Operation): Promise<void> {
    const family = this.stateFamily(ticket);
    if (this.startOnDemand && !this.started.get(family)) await this.doStart(family, true);
    if (!(await this.processCommand(op, ticket))) throw new ActionError(`Error banning ${ticketIp(ticket)}`);
    this.started.set(family, (this.started.get(family) ?? 0) | STARTED | HAS_BANS);
  }

  /**
   * Runs a ticket command; on failure runs the invariant check (and repair)
   * once and retries once (§5.5).
   */
  private async processCommand(op: Operation, ticket: BanTicket): Promise<boolean> {
    if (!this.definition.commands[op]) return true;
    const family = this.stateFamily(ticket);
    const conditional = ticket.family ?? '';
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0 && this.definition.commands.actioncheck) {
        const beforeRepair = () => {
          if (op === 'actionunban' && !this.definition.actionrepairOnUnban) {
            this.log('error', 'Invariant check failed. Unban is impossible.');
            return false;
          }
          return true;
        };
        if ((await this.invariantCheck(family, beforeRepair, op !== 'actionunban')) !== 1) return false;
      }
      const cmd = this.staticCommand(op, conditional);
      const bound = await bindDynamicTags(cmd, new ActionInfo(ticket, this.ctx), fallbackTag);
      const ok = await this.exec(op, bound.script, bound.env);
      if (ok || attempt >= 1) return ok;
    }
  }

  /** 1 = sane (or repaired), 0 = broken, -1 = broken but repair declined by `beforeRepair`. */
  private async invariantCheck(family: string, beforeRepair: (() => boolean) | undefined, forceStart: boolean): Promise<number> {
    if (!forceStart && !this.started.has(family)) return 1;
    const check = await this.operationCommand('actioncheck', family);
    if (!check.script || (await this.exec('actioncheck', check.script, check.env))) return 1;
    if (beforeRepair && !beforeRepair()) return -1;
    this.log('error', 'Invariant check failed. Trying to restore a sane environment');
    this.invalidateBanEpoch();
    const repair = await this.operationCommand('actionrepair', family);
    if (repair.script) {
      if (!(await this.exec('actionrepair', repair.script, repair.env))) {
        this.started.set(family, 0);
        this.log('critical', 'Unable to restore environment');
        return 0;
      }
      this.started.set(family, STARTED);
    } else {
      try {
        await this.doStop(family);
      } catch {
        // a failing stop is fine as long as start and check succeed afterwards
      }
      await this.doStart(family, forceStart || !this.startOnDemand);
    }
    if (this.started.get(family) && !(await this.exec('actioncheck', check.script, check.env))) {
      this.log('critical', 'Unable to restore environment');
      return 0;
    }
    return 1;
  }
}

/** Properties the static pass sees: Init/jail values, the operations themselves, name/actname, timeout. */
function buildProperties(def: ActionDefinition, jail: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const [k, v] of Object.entries(def.properties)) {
    // bantime is reserved for the dynamic tag; names with _ prefix are private in fail2ban
    if (k === 'bantime' || k.startsWith('_')) continue;
    props[k] = v;
  }
  for (const op of OPERATIONS) props[op] = def.commands[op] ?? '';
  props.timeout ??= String(def.timeout);
  props.actname ??= def.name;
  props.name ??= jail;
  return props;
}

function familyOnlySource(family: string): DynamicTagSource {
  return { get: (tag) => (tag === 'family' ? family : undefined), filterValue: () => '' };
}

function ticketIp(t: BanTicket): string {
  return t.ip ?? t.id;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
