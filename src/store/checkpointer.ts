/**
 * WAL checkpoints on a worker thread. In WAL mode with synchronous=NORMAL a
 * commit only appends to the -wal file; the fsyncs happen when the WAL is
 * copied back into the database (a checkpoint). SQLite's automatic checkpoint
 * runs inside whichever commit crosses 1000 pages, i.e. on moatd's event loop:
 * a slow disk then stalls log reading and bans for as long as the fsync takes
 * (seconds, measured under concurrent I/O). The main connection turns the
 * automatic checkpoint off and this worker, with its own connection to the
 * same file, runs a PASSIVE checkpoint (never blocks the writer) every
 * `intervalMs`. The worker ends itself after `idleTicks` checkpoints without
 * new WAL frames; the store starts a new one with its next write.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// CommonJS run with eval: no file of its own to resolve under tsx (tests) and dist/ (installed).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = ' + workerData.synchronous);
let quiet = 0;
let lastLog = -1;
const stop = () => { clearInterval(timer); db.close(); parentPort.close(); };
const tick = () => {
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    // nothing new in the WAL for idleTicks checkpoints: end (an idle thread costs ~7 MiB of RSS)
    quiet = row && row.log === lastLog ? quiet + 1 : 0;
    lastLog = row ? row.log : -1;
    if (quiet >= workerData.idleTicks) { parentPort.postMessage({ idle: true }); stop(); }
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.message || e) });
  }
};
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', (m) => { if (m === 'close') stop(); });
`;

export interface CheckpointerOptions {
  file: string;
  /** ms between checkpoints (default 1000). */
  intervalMs?: number;
  synchronous?: 'off' | 'normal' | 'full';
  /** Errors of the worker (the next tick tries again). */
  onError?: (message: string) => void;
  /** Checkpoints without new WAL frames after which the worker ends (default 30). */
  idleTicks?: number;
  /** The worker ended because nothing was written for `idleTicks` checkpoints. */
  onIdle?: () => void;
  /** The worker ended without `close()` or idling: the caller turns SQLite's own checkpoints back on. */
  onLost?: () => void;
}

export class BackgroundCheckpointer {
  readonly #worker: Worker;
  #closed = false;

  constructor(opts: CheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver,
        file: opts.file,
        intervalMs: opts.intervalMs ?? 1000,
        idleTicks: opts.idleTicks ?? 30,
        synchronous: (opts.synchronous ?? 'normal').toUpperCase(),
      },
      // the flags that load TypeScript in tests are not needed by a CommonJS worker
      execArgv: [],
    });
    this.#worker.unref();
    this.#worker.on('message', (m: { error?: string; idle?: boolean }) => {
      if (m.error) opts.onError?.(`WAL checkpoint failed: ${m.error}`);
      if (m.idle && !this.#closed) {
        this.#closed = true;
        opts.onIdle?.();
      }
    });
    this.#worker.on('error', (e) => opts.onError?.(`WAL checkpoint worker failed: ${e.message}`));
    this.#worker.on('exit', () => {
      if (!this.#closed) opts.onLost?.();
    });
  }

  /** Stops the worker (its connection is closed first). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.postMessage('close');
  }
}
