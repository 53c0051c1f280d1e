/**
 * Public surface of src/actions: the action runtime (CommandAction), the
 * native nftables backend (NftAction), the dummy action and the helpers other
 * modules need.
 */
export { CommandAction, type ActionContext, type ActionLogger, type ActionLogLevel, type BanEpoch, type JailAction } from './action.ts';
export { ActionInfo, DYNAMIC_TAGS, defaultHostResolver, type BanHistory, type HostResolver, type JailCounters } from './action-info.ts';
export { KeyedSerialQueue, runCommand, runShell, resultOk, describeFailure, type RunOptions, type RunResult } from './command.ts';
export { OPERATIONS, emptyCommands, type ActionDefinition, type Operation } from './definition.ts';
export { dummyActionDefinition, DUMMY_DEFAULT_TARGET, type DummyOptions } from './dummy.ts';
export { bindDynamicTags, ShellBinder, ENV_PREFIX, type BoundScript, type DynamicTagSource } from './shell-bind.ts';
export { NftAction, type NftActionContext } from './nft/action.ts';
export { NftBatcher, nftElement, opsScript, type NftOp, type NftElement } from './nft/batcher.ts';
export { NftRunner, type NftRunnerOptions } from './nft/runner.ts';
export { isNftablesAction, rulesetFromDefinition, setupScript, type NftRuleset } from './nft/ruleset.ts';
export { createJailAction, type CreateActionOptions } from './factory.ts';
