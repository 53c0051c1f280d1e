import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cdfPoints, cdfSvg, decadeRange } from '../../bench/lib/plot.ts';

// bench/lib/plot.ts draws figure 2's latency distribution (bench/results/latency.svg).

test('cdfPoints: sorted samples with the share at or below each, ties collapsed, junk left out', () => {
  assert.deepEqual(cdfPoints([3, 1, 2, 2, NaN, 0, -1]), [
    [1, 0.25],
    [2, 0.75],
    [3, 1],
  ]);
  assert.deepEqual(cdfPoints([]), []);
});

test('decadeRange: whole decades around every sample and the target', () => {
  assert.deepEqual(decadeRange([{ label: 'a', values: [1.5, 4] }, { label: 'b', values: [300] }]), { lo: 0, hi: 3 });
  assert.deepEqual(decadeRange([{ label: 'a', values: [2] }], [5]), { lo: 0, hi: 1 });
  assert.deepEqual(decadeRange([{ label: 'a', values: [] }]), { lo: 0, hi: 1 });
});

test('cdfSvg: one step curve per series on a log axis, the target where its value is, labels escaped', () => {
  const svg = cdfSvg(
    [
      { label: 'moat <fast>', values: [1, 10] },
      { label: 'fail2ban', values: [100] },
    ],
    { title: 'T & t', target: { ms: 10, label: 'target' } },
  );
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<path /g) ?? []).length, 2);
  assert.ok(svg.includes('moat &lt;fast&gt;') && svg.includes('T &amp; t'));
  // decades 1 ms .. 100 ms over the plot width: 10 ms is half way, where the dashed target line is
  const target = /<line x1="([\d.]+)"[^>]*stroke-dasharray/.exec(svg);
  assert.ok(target);
  const tick = new RegExp(`<text x="([\\d.]+)"[^>]*>10 ms</text>`).exec(svg);
  assert.ok(tick);
  assert.equal(target[1], tick[1]);
  // moat's curve rises at 1 ms and at 10 ms: its path reaches the top of the plot only at the target's x
  const moatPath = /<path d="([^"]+)"/.exec(svg)![1]!;
  const steps = moatPath.split(' ').filter((p) => p.startsWith('L')).map((p) => p.slice(1).split(',').map(Number));
  const top = Math.min(...steps.map(([, y]) => y!));
  assert.equal(steps.find(([, y]) => y === top)![0]!.toFixed(1), Number(target[1]).toFixed(1));
});
