/**
 * An in-code equivalent of the stock `dummy` action (§5.7): it records what
 * happens in a text file, which makes it the action of choice for tests of
 * the jail, ban manager and server. Same file format as fail2ban's:
 * start touches the file and writes `<init>`, ban appends `+IP`, unban `-IP`,
 * flush `-*`, stop deletes the file; each also echoes a debug line.
 */
import { type ActionDefinition, emptyCommands } from './definition.ts';

export interface DummyOptions {
  /** File the action writes to (stock default /var/run/fail2ban/fail2ban.dummy). */
  target?: string;
  /** First line written at start (stock default 123). */
  init?: string;
  /** actname (default `dummy`). */
  actname?: string;
  /** Further properties / jail arguments (e.g. `name`). */
  properties?: Record<string, string>;
  timeout?: number;
}

export const DUMMY_DEFAULT_TARGET = '/var/run/fail2ban/fail2ban.dummy';

export function dummyActionDefinition(opts: DummyOptions = {}): ActionDefinition {
  const say = (what: string) => `echo "[<name>] <actname> <target> -- ${what}"`;
  const commands = emptyCommands();
  commands.actionstart = [
    `if [ ! -z '<target>' ]; then touch <target>; fi;`,
    `printf %b "<init>\\n" <to_target>`,
    say('started'),
  ].join('\n');
  commands.actionflush = [`printf %b "-*\\n" <to_target>`, say('clear all')].join('\n');
  commands.actionstop = [`if [ ! -z '<target>' ]; then rm -f <target>; fi;`, say('stopped')].join('\n');
  commands.actionban = [`printf %b "+<ip>\\n" <to_target>`, say('banned <ip> (family: <family>)')].join('\n');
  commands.actionunban = [`printf %b "-<ip>\\n" <to_target>`, say('unbanned <ip> (family: <family>)')].join('\n');
  const actname = opts.actname ?? 'dummy';
  return {
    name: actname,
    file: 'dummy',
    commands,
    actionstartOnDemand: null,
    actionrepairOnUnban: false,
    norestored: false,
    timeout: opts.timeout ?? 60,
    properties: {
      init: opts.init ?? '123',
      target: opts.target ?? DUMMY_DEFAULT_TARGET,
      to_target: '>> <target>',
      actname,
      ...opts.properties,
    },
  };
}
