/** Rows of the results table, the table itself, and the JSON written under bench/results. */
import type { Summary } from './stats';

export interface Target {
  /** How the row's value is compared: `value <= limit`, `value >= limit`, `value < limit`, `value === limit`. */
  op: '<=' | '>=' | '<' | '==';
  limit: number;
  /** As printed, e.g. "≤ 1.3×". */
  text: string;
}

export interface Row {
  /** Stable key, e.g. `join.trickle`. */
  id: string;
  section: string;
  metric: string;
  unit: string;
  /** The figure: a median for repeated measurements, else the single value. */
  median: number;
  /** For repeated measurements. */
  p95?: number;
  p99?: number;
  /** Number of runs or samples behind the figure. */
  n?: number;
  target?: Target;
  /** `undefined` when the row has no target. */
  met?: boolean;
  note?: string;
}

export function meets(value: number, target: Target): boolean {
  switch (target.op) {
    case '<=':
      return value <= target.limit;
    case '>=':
      return value >= target.limit;
    case '<':
      return value < target.limit;
    case '==':
      return value === target.limit;
    default: {
      const unreachable: never = target.op;
      throw new Error(`unknown op ${String(unreachable)}`);
    }
  }
}

/** A row from a summary of samples; `on` picks which statistic the target is checked against (default: median). */
export function fromSummary(
  id: string,
  section: string,
  metric: string,
  unit: string,
  s: Summary,
  target?: Target,
  on: 'median' | 'p95' | 'p99' = 'median',
  note?: string,
): Row {
  const row: Row = { id, section, metric, unit, median: s.median, p95: s.p95, n: s.n };
  if (on === 'p99') row.p99 = s.p99;
  if (target !== undefined) {
    row.target = target;
    row.met = meets(s[on], target);
  }
  if (note !== undefined) row.note = note;
  return row;
}

export function single(
  id: string,
  section: string,
  metric: string,
  unit: string,
  value: number,
  target?: Target,
  note?: string,
): Row {
  const row: Row = { id, section, metric, unit, median: value };
  if (target !== undefined) {
    row.target = target;
    row.met = meets(value, target);
  }
  if (note !== undefined) row.note = note;
  return row;
}

const fmt = (value: number | undefined, unit: string): string => {
  if (value === undefined) return '—';
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  const digits =
    unit === '×'
      ? 2
      : Number.isInteger(value)
        ? 0
        : abs >= 1000
          ? 0
          : abs >= 100
            ? 1
            : abs >= 10 && unit !== 'KiB'
              ? 1
              : 2;
  const text = value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  return unit === '×' ? `${text}×` : unit === '' ? text : `${text} ${unit}`;
};

/** A Markdown table (it reads fine in a terminal too). */
export function table(rows: readonly Row[]): string {
  const header = ['#', 'figure', 'median / value', 'p95', 'p99', 'n', 'target', 'met?', 'note'];
  const lines = rows.map((r) => [
    r.section,
    r.metric,
    fmt(r.median, r.unit),
    fmt(r.p95, r.unit),
    fmt(r.p99, r.unit),
    r.n === undefined ? '—' : String(r.n),
    r.target?.text ?? '—',
    r.met === undefined ? '—' : r.met ? 'yes' : '**no**',
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const render = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i >= 2 && i <= 5 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  // Formatted as Prettier formats Markdown tables, so the README can take it as printed.
  const rule = `| ${widths.map((w, i) => (i >= 2 && i <= 5 ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [render(header), rule, ...lines.map(render)].join('\n');
}
