// Merging the close's rollup rows (whole hours) with the raw SQL aggregates of the partial edge hours into the
// dims aggregates billing/dims-aggregates.ts prices (usage/rollup-close.ts): pure.
// - Dims are compared as billing compares event properties, String(v) (null when absent): rollup rows already
//   hold that form; raw edge rows hold the JSON values and are projected the same way.
// - Rollup rows are projected onto the charges' keys (a rollup may carry more keys than the charges read).
// - count and Σ add, max is the greater (Decimal comparison), the weighted-sum area adds after moving an edge
//   row's area from its edge end to the period end: Σ v (E − t) = Σ v (e − t) + (E − e) Σ v.
import type { DimsAggregate } from './dims-aggregates';
import { D, str, type Dec } from './money';
import type { EventPropertyValue } from './types';

export interface RollupDimsInput {
  dims: Record<string, string | null>;
  eventsCount: number;
  sum: string;
  max: string | null;
  /** Σ v (periodEnd − t), already measured to the period end. */
  area: string;
}

export interface EdgeDimsInput {
  aggregates: DimsAggregate[];
  /** The edge range's end (ms) its areas are measured to. */
  edgeEndMs: number;
}

function propString(v: EventPropertyValue | undefined): string | null {
  return v === undefined || v === null ? null : String(v);
}

interface Acc {
  dims: Record<string, string | null>;
  eventsCount: number;
  sum: Dec;
  max: Dec | null;
  area: Dec;
}

/** One DimsAggregate per distinct projected dims (no latest, no precise sum, no first-event key: callers need none). */
export function mergeRollupAndEdges(keys: string[], rollups: RollupDimsInput[], edges: EdgeDimsInput[], periodEndMs: number): DimsAggregate[] {
  const accs = new Map<string, Acc>();
  const add = (dims: Record<string, string | null>, n: number, sum: string, max: string | null, area: Dec) => {
    const id = JSON.stringify(keys.map((k) => dims[k] ?? null));
    let a = accs.get(id);
    if (!a) accs.set(id, (a = { dims: Object.fromEntries(keys.map((k) => [k, dims[k] ?? null])), eventsCount: 0, sum: new D(0), max: null, area: new D(0) }));
    a.eventsCount += n;
    a.sum = a.sum.plus(sum);
    if (max !== null && (a.max === null || new D(max).gt(a.max))) a.max = new D(max);
    a.area = a.area.plus(area);
  };
  for (const r of rollups) add(r.dims, r.eventsCount, r.sum, r.max, new D(r.area));
  for (const e of edges) {
    for (const g of e.aggregates) {
      const dims: Record<string, string | null> = {};
      for (const k of keys) dims[k] = propString(g.dims[k]);
      add(dims, g.eventsCount, g.sum, g.max, new D(g.weightedArea).plus(new D(g.sum).times(periodEndMs - e.edgeEndMs)));
    }
  }
  return [...accs.values()].map((a) => ({
    dims: a.dims,
    eventsCount: a.eventsCount,
    sum: str(a.sum),
    max: a.max === null ? null : str(a.max),
    weightedArea: str(a.area),
    latest: null,
    preciseSum: '0',
    first: ['0', '0'],
  }));
}
