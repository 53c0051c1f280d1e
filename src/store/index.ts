export { Store, firstLineHash } from './store.ts';
export type {
  StoreOptions,
  StoreRecovery,
  RestoreOptions,
  LastBan,
  BanHistory,
  LogPosition,
  JournalCursor,
  PurgeResult,
} from './store.ts';
export { SCHEMA_VERSION } from './schema.ts';
