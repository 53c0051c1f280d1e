/**
 * The shape of an action as the config reader hands it over (ARCHITECTURE.md,
 * "config → everyone"). Declared here structurally so src/actions does not
 * depend on the reader's internals; src/config's ActionDefinition is
 * assignable to it.
 */

export const OPERATIONS = [
  'actionstart',
  'actionstop',
  'actioncheck',
  'actionban',
  'actionunban',
  'actionflush',
  'actionreload',
  'actionrepair',
  'actionreban',
  'actionprolong',
] as const;

export type Operation = (typeof OPERATIONS)[number];

export interface ActionDefinition {
  /** actname (unique within the jail). */
  name: string;
  /** The action.d file it came from (for error messages). */
  file: string;
  commands: Record<Operation, string>;
  /** null = automatic (true when the action has `?family=` properties). */
  actionstartOnDemand: boolean | null;
  actionrepairOnUnban: boolean;
  norestored: boolean;
  /** Seconds per command. */
  timeout: number;
  /** Raw [Init] + jail-argument values, conditional keys included (`blocktype?family=inet6`). */
  properties: Record<string, string>;
}

/** An ActionDefinition with every command empty, for building definitions in code. */
export function emptyCommands(): Record<Operation, string> {
  return Object.fromEntries(OPERATIONS.map((o) => [o, ''])) as Record<Operation, string>;
}
