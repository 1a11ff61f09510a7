// Small helpers shared by the ingest benchmark processes: percentiles and per-process CPU accounting (/proc).
import fs from 'node:fs';

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: number[]): LatencySummary {
  const s = Float64Array.from(values).sort();
  let total = 0;
  for (const v of s) total += v;
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    n: s.length,
    p50: r(percentile(s, 50)),
    p90: r(percentile(s, 90)),
    p99: r(percentile(s, 99)),
    max: r(s.length ? s[s.length - 1]! : Number.NaN),
    mean: r(s.length ? total / s.length : Number.NaN),
  };
}

// ---------------------------------------------------------------------------------------------------------
// CPU seconds per process group, from /proc (Linux only; empty elsewhere). On a 2-core machine where the
// load generator, the API, Postgres and Temporal share the cores, this says who used them.

const CLK_TCK = 100;

interface ProcSample {
  pid: number;
  pgrp: number;
  ppid: number;
  comm: string;
  cpuS: number;
}

function readProcs(): ProcSample[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcSample[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    // fields after comm: state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
    out.push({ pid: Number(e), ppid: Number(f[1]), pgrp: Number(f[2]), comm, cpuS: (Number(f[11]) + Number(f[12])) / CLK_TCK });
  }
  return out;
}

export type CpuCategories = Record<string, number>;

/**
 * CPU seconds consumed so far, per category. `groups` maps a category to process-group ids (children spawned
 * detached lead their own group); `pids` maps a category to single pids (and their descendants).
 */
export function cpuByCategory(groups: Record<string, number[]>, pids: Record<string, number[]>): { byCategory: CpuCategories; byPid: Map<number, { cat: string; cpuS: number }> } {
  const procs = readProcs();
  const byPidProc = new Map(procs.map((p) => [p.pid, p]));
  const catOfPid = new Map<number, string>();
  for (const [cat, list] of Object.entries(pids)) for (const pid of list) catOfPid.set(pid, cat);
  const catOfGroup = new Map<number, string>();
  for (const [cat, list] of Object.entries(groups)) for (const g of list) catOfGroup.set(g, cat);
  const categoryOf = (p: ProcSample): string => {
    if (p.comm === 'postgres' || p.comm.startsWith('postgres')) return 'postgres';
    const g = catOfGroup.get(p.pgrp);
    if (g) return g;
    // walk up the parent chain for pid-rooted categories
    let cur: ProcSample | undefined = p;
    for (let i = 0; cur && i < 20; i++) {
      const c = catOfPid.get(cur.pid);
      if (c) return c;
      cur = byPidProc.get(cur.ppid);
    }
    return 'other';
  };
  const byCategory: CpuCategories = {};
  const byPid = new Map<number, { cat: string; cpuS: number }>();
  for (const p of procs) {
    const cat = categoryOf(p);
    byCategory[cat] = (byCategory[cat] ?? 0) + p.cpuS;
    byPid.set(p.pid, { cat, cpuS: p.cpuS });
  }
  return { byCategory, byPid };
}

/** Per-category CPU seconds between two samples (processes that appeared count from 0). */
export function cpuDelta(
  before: Map<number, { cat: string; cpuS: number }>,
  after: Map<number, { cat: string; cpuS: number }>,
): CpuCategories {
  const out: CpuCategories = {};
  for (const [pid, a] of after) {
    const b = before.get(pid);
    const d = a.cpuS - (b ? b.cpuS : 0);
    if (d > 0) out[a.cat] = (out[a.cat] ?? 0) + d;
  }
  return out;
}
