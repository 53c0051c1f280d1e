/**
 * Micro-benchmark (not a test): DateDetector.detect on 1M syslog lines with the default templates.
 * Run: node --import tsx test/date/bench-date.ts [lines]
 */
import { DateDetector } from '../../src/filter/date/index.ts';

const count = Number(process.argv[2] ?? 1_000_000);
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => String(n).padStart(2, '0');

// ~20 lines per second of log time, like a busy sshd log
const lines: string[] = [];
for (let i = 0; i < count; i++) {
  const t = Math.floor(i / 20);
  const stamp = `${months[Math.floor(t / 86400) % 12]} ${pad(1 + (Math.floor(t / 86400) % 28))} ${pad(Math.floor(t / 3600) % 24)}:${pad(Math.floor(t / 60) % 60)}:${pad(t % 60)}`;
  lines.push(`${stamp} host sshd[${1000 + (i % 5000)}]: Failed password for root from 192.0.2.${i % 250} port ${1024 + (i % 60000)} ssh2`);
}

for (const datepattern of [null, '{^LN-BEG}']) {
  const detector = new DateDetector({ datepattern });
  for (const line of lines) detector.detect(line); // warm-up: JIT, and the line strings reach the old generation
  const start = process.hrtime.bigint();
  let found = 0;
  for (const line of lines) if (detector.detect(line)) found++;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `datepattern=${String(datepattern)}: ${count} lines in ${seconds.toFixed(3)} s = ${Math.round(count / seconds).toLocaleString('en')} lines/s (${found} dated)`,
  );
}
