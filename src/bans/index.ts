export { BanManager, systemClock } from './ban-manager.ts';
export type { BanManagerOptions, BanRequest, BanOutcome, UnbanReason, BanClock, BanLog, BanLogLevel } from './ban-manager.ts';
export { compileBanTimeFunction, parseMultipliers } from './increment.ts';
export type { BanTimeIncrementOptions, BanTimeFunction } from './increment.ts';
export { banEnd } from './ticket.ts';
export type { BanTicket } from './ticket.ts';
export { seconds2str, time2str } from './format.ts';
