// Median (min-max) cells and markdown tables for the benchmark reports.

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarise(xs: readonly number[]): Summary | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s.at(-1)!, n: s.length };
}

export function cell(s: Summary | undefined, fmt: (x: number) => string, unit = ''): string {
  if (!s) return 'n/a';
  if (s.n === 1) return `${fmt(s.median)}${unit}`;
  return `${fmt(s.median)}${unit} (${fmt(s.min)}-${fmt(s.max)})`;
}

export const secs = (x: number) => x.toFixed(2);
export const mib = (b: number) => (b / 1048576).toFixed(0);

export function ratio(s: Summary | undefined, base: Summary | undefined): string {
  if (!s || !base || base.median === 0) return 'n/a';
  return `${(s.median / base.median).toFixed(2)}`;
}

export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}
