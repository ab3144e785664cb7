/** The few statistics a same-run comparison needs: medians and per-round ratios. */

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** One measured figure of a candidate and its baseline, taken in alternating rounds. */
export interface Comparison {
  what: string;
  unit: string;
  candidate: { name: string; values: number[] };
  baseline: { name: string; values: number[] };
  /** What a ratio above 1 means, e.g. "p2p-call is slower". */
  ratioMeans: string;
}

const fixed = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(1));
const spread = (values: readonly number[]) => `median ${fixed(median(values))} (min ${fixed(Math.min(...values))}, max ${fixed(Math.max(...values))})`;

/** A plain-text report: each side's median and range, then the ratio of each round and their median. */
export function report(c: Comparison): string {
  const ratios = c.candidate.values.map((value, i) => value / (c.baseline.values[i] as number));
  const width = Math.max(c.candidate.name.length, c.baseline.name.length);
  return [
    `${c.what} — ${c.candidate.values.length} rounds, alternating`,
    `  ${c.candidate.name.padEnd(width)}  ${spread(c.candidate.values)} ${c.unit}`,
    `  ${c.baseline.name.padEnd(width)}  ${spread(c.baseline.values)} ${c.unit}`,
    `  ratio ${c.candidate.name} / ${c.baseline.name}: median ${median(ratios).toFixed(2)} (rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')}); above 1 means ${c.ratioMeans}`,
  ].join('\n');
}
