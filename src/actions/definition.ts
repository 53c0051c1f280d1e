/**
 * The action shape the runtime consumes: the config reader's ActionDefinition (one source of
 * truth for the operations list and fields), with `files` optional so code-built definitions
 * (the dummy action, tests) need not invent a file list.
 */
import { ACTION_COMMANDS, type ActionCommandName, type ActionDefinition as ConfigActionDefinition } from '../config/types.ts';

export const OPERATIONS = ACTION_COMMANDS;
export type Operation = ActionCommandName;

export type ActionDefinition = Omit<ConfigActionDefinition, 'files'> & { files?: string[] };

/** Every command empty, for building definitions in code. */
export function emptyCommands(): Record<Operation, string> {
  return Object.fromEntries(OPERATIONS.map((o) => [o, ''])) as Record<Operation, string>;
}
