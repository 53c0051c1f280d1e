export { FailManager } from './fail-manager.ts';
export type { FailManagerOptions, FailTicket, AddFailureResult } from './fail-manager.ts';
export { IgnoreList, buildIgnoreCommand, splitIgnoreIp } from './ignore.ts';
export type { IgnoreListOptions, IgnoreVerdict, IgnoreSubject, IgnoreSource, IgnoreCacheOptions, IgnoreLog } from './ignore.ts';
export { pyRound } from './py-round.ts';
