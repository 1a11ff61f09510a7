// Compares two V8 CPU profiles of the API process over the same scenario (issue 7: base 5a8a9de vs head, single
// events): self time per area and per function in µs PER REQUEST, and the difference, largest first.
// Usage: tsx bench/ingest-profile-diff.ts <base.cpuprofile> <base requests> <head.cpuprofile> <head requests> [top]
// Profiles of a loaded machine inflate every sample alike (a sample's time includes the time the thread was
// descheduled), so compare the SHARES (µs/request × busy-share) between the two, not their absolute sizes.
import fs from 'node:fs';
import { areaOf } from './support/profile';

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface Prof {
  nodes: { id: number; callFrame: Frame }[];
  samples: number[];
  timeDeltas: number[];
}

function selfTimes(file: string): { busyUs: number; byArea: Map<string, number>; byFn: Map<string, number> } {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Prof;
  const byId = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const byArea = new Map<string, number>();
  const byFn = new Map<string, number>();
  let busyUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const f = byId.get(p.samples[i]!);
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (!f) continue;
    const area = areaOf(f);
    if (area === '(idle)') continue;
    busyUs += dt;
    byArea.set(area, (byArea.get(area) ?? 0) + dt);
    const u = f.url.replace(/^file:\/\//, '').replace(/^.*?\/(node_modules|api|db|bench|usage|billing|config|cache|workflows|activities)\//, '$1/');
    const key = `${f.functionName || '(anonymous)'} ${u}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + dt);
  }
  return { busyUs, byArea, byFn };
}

function table(title: string, base: Map<string, number>, nb: number, head: Map<string, number>, nh: number, top: number): void {
  const keys = new Set([...base.keys(), ...head.keys()]);
  const rows = [...keys].map((k) => ({ k, b: (base.get(k) ?? 0) / nb, h: (head.get(k) ?? 0) / nh })).map((r) => ({ ...r, d: r.h - r.b }));
  rows.sort((x, y) => Math.abs(y.d) - Math.abs(x.d));
  console.log(`\n${title} (µs per request, sampled)\n${'base'.padStart(9)} ${'head'.padStart(9)} ${'head-base'.padStart(10)}  what`);
  for (const r of rows.slice(0, top)) console.log(`${r.b.toFixed(0).padStart(9)} ${r.h.toFixed(0).padStart(9)} ${r.d.toFixed(0).padStart(10)}  ${r.k}`);
}

const [baseFile, baseN, headFile, headN, topArg] = process.argv.slice(2);
if (!baseFile || !baseN || !headFile || !headN) {
  console.error('usage: tsx bench/ingest-profile-diff.ts <base.cpuprofile> <base requests> <head.cpuprofile> <head requests> [top]');
  process.exit(2);
}
const b = selfTimes(baseFile);
const h = selfTimes(headFile);
const nb = Number(baseN);
const nh = Number(headN);
console.log(`busy µs per request: base ${(b.busyUs / nb).toFixed(0)}, head ${(h.busyUs / nh).toFixed(0)}`);
table('self time by area', b.byArea, nb, h.byArea, nh, Number(topArg ?? 25));
table('self time by function', b.byFn, nb, h.byFn, nh, Number(topArg ?? 25));
