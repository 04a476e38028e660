/** What every benchmark module returns to bench/run.ts, and the budgets file's shape. */
import fs from 'fs';
import path from 'path';

export interface Budget {
  /** The value must be ≤ max. */
  max: number;
  /** And ≥ min, where given: for counts that must reach a number (connections held, calls set up). */
  min?: number;
  unit: string;
  /** What the number is and which statistic the budget applies to. */
  what: string;
}

export type Budgets = Record<string, Budget>;

export const BUDGETS_FILE = path.join(__dirname, '..', 'budgets.json');

export function loadBudgets(file = BUDGETS_FILE): Budgets {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  // Keys starting with '_' are comments: JSON has none.
  return Object.fromEntries(Object.entries(parsed).filter(([key]) => !key.startsWith('_'))) as Budgets;
}

export interface Metric {
  id: string;
  label: string;
  value: number;
  unit: string;
  /** null: reported for information, no budget. */
  budget: number | null;
  /** The lower bound, for a budget that has one. */
  min?: number;
  pass: boolean | null;
}

export interface BenchmarkResult {
  name: string;
  metrics: Metric[];
  /** Extra lines printed under the table (series, comparisons with other kits). */
  notes: string[];
  /** Everything measured, for bench/results.json. */
  details: unknown;
}

/** A metric checked against `budgets[id]`; a missing budget is an error, not a silent pass. */
export function budgeted(budgets: Budgets, id: string, label: string, value: number): Metric {
  const budget = budgets[id];
  if (!budget) throw new Error(`bench/budgets.json has no budget "${id}"`);
  const { max, min } = budget;
  const pass = value <= max && (min === undefined || value >= min);
  return { id, label, value, unit: budget.unit, budget: max, ...(min === undefined ? {} : { min }), pass };
}

export function info(id: string, label: string, value: number, unit: string): Metric {
  return { id, label, value, unit, budget: null, pass: null };
}
