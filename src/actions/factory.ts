/**
 * Chooses the runtime for an action of a jail: stock nftables actions are
 * served by the native backend (batched transactions, no shell), everything
 * else by CommandAction.
 */
import { CommandAction, type ActionContext, type JailAction } from './action.ts';
import type { ActionDefinition } from './definition.ts';
import { NftAction } from './nft/action.ts';
import type { NftBatcher } from './nft/batcher.ts';
import { isNftablesAction, rulesetFromDefinition } from './nft/ruleset.ts';
import type { NftRunner } from './nft/runner.ts';

export interface CreateActionOptions extends ActionContext {
  /** Serve stock nftables actions natively (default true when `nft` is given). */
  nft?: { runner: NftRunner; batcher: NftBatcher } | null;
}

export function createJailAction(def: ActionDefinition, opts: CreateActionOptions): JailAction {
  if (opts.nft && isNftablesAction(def)) {
    const ctx: ConstructorParameters<typeof NftAction>[2] = {
      jail: opts.jail,
      runner: opts.nft.runner,
      batcher: opts.nft.batcher,
      norestored: def.norestored,
    };
    if (opts.epoch) ctx.epoch = opts.epoch;
    if (opts.logger) ctx.logger = opts.logger;
    return new NftAction(def.name, rulesetFromDefinition(def, opts.jail), ctx);
  }
  return new CommandAction(def, opts);
}
