/** Log sources: files (inotify/polling) and the systemd journal. See ARCHITECTURE.md. */
export { FileSource, resolveFileBackend } from './file-source.ts';
export type { FileSourceOptions, FileSourceStatus, FileStatus, FileBackendName, WatchFunction } from './file-source.ts';
export { JournalSource, journalMatchArgs, journalSelectionArgs } from './journal-source.ts';
export type { JournalSourceOptions, JournalSourceStatus, JournalBackendOptions, SpawnFunction } from './journal-source.ts';
export { formatJournalEntry, isoLocal, type JournalLine } from './journal-line.ts';
export { ExportParser, toExportFormat, type JournalEntry } from './journal-export.ts';
export { createLineDecoder, type LineDecoder } from './encoding.ts';
export { expandGlob, compileGlob } from './glob.ts';
export { MemoryPositionStore } from './types.ts';
export type { SourceLine, SourceContext, SourceMode, LogPositionStore, SourceLogger } from './types.ts';
