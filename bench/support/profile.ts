// Summarises a V8 .cpuprofile (node --cpu-prof) of the bench server: self time per area (package, project
// folder, node internals, GC, idle), the top functions by self time, and inclusive time of project functions.
// Usage: tsx bench/support/profile.ts <file.cpuprofile>   (also used by bench/ingest.ts with BENCH_PROFILE=1)
import fs from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const ROOT = path.resolve(__dirname, '..', '..');

function shortUrl(url: string): string {
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(ROOT)) u = u.slice(ROOT.length + 1);
  return u;
}

/** The area a frame belongs to: a package name, a project folder, node:<module>, or a V8 pseudo-frame. */
export function areaOf(frame: CallFrame): string {
  if (!frame.url) {
    if (frame.functionName.startsWith('(')) return frame.functionName; // (garbage collector), (idle), (program)
    return `native:${frame.functionName || '(anonymous)'}`;
  }
  const u = shortUrl(frame.url);
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (u.startsWith('node:')) {
    const parts = u.slice(5).split('/');
    return `node:${parts[0] === 'internal' ? parts.slice(1, 2).join('/') : parts[0]}`;
  }
  const parts = u.split('/');
  return parts.length > 1 ? `${parts[0]}/${parts[parts.length - 1]}` : u;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  areas: { area: string; selfMs: number; pctOfBusy: number }[];
  selfTop: { fn: string; selfMs: number; pctOfBusy: number }[];
  inclusiveTop: { fn: string; totalMs: number; pctOfBusy: number }[];
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) byId.set(n.id, n);
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fnKey = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : ''}`.trim();

  const selfByArea = new Map<string, number>();
  const selfByFn = new Map<string, number>();
  const inclByFn = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i + 1] ?? 0; // delta i+1 is the duration of sample i
    const node = byId.get(prof.samples[i]!);
    if (!node) continue;
    totalUs += dt;
    const area = areaOf(node.callFrame);
    if (area === '(idle)') {
      idleUs += dt;
      continue;
    }
    selfByArea.set(area, (selfByArea.get(area) ?? 0) + dt);
    const k = fnKey(node.callFrame);
    selfByFn.set(k, (selfByFn.get(k) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      const u = shortUrl(f.url);
      if (!f.url || u.includes('node_modules') || u.startsWith('node:')) continue;
      const key = fnKey(f);
      if (seen.has(key)) continue;
      seen.add(key);
      inclByFn.set(key, (inclByFn.get(key) ?? 0) + dt);
    }
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => Math.round((us / Math.max(1, busyUs)) * 1000) / 10;
  const ms = (us: number) => Math.round(us / 1000);
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    totalMs: ms(totalUs),
    busyMs: ms(busyUs),
    areas: sorted(selfByArea).map(([area, us]) => ({ area, selfMs: ms(us), pctOfBusy: pct(us) })),
    selfTop: sorted(selfByFn).map(([fn, us]) => ({ fn, selfMs: ms(us), pctOfBusy: pct(us) })),
    inclusiveTop: sorted(inclByFn).map(([fn, us]) => ({ fn, totalMs: ms(us), pctOfBusy: pct(us) })),
  };
}

export function printProfile(s: ProfileSummary): void {
  console.log(`CPU profile of the API process: ${s.totalMs} ms sampled, ${s.busyMs} ms busy (not idle)`);
  console.log('  self time by area (% of busy):');
  for (const a of s.areas) console.log(`    ${a.pctOfBusy.toFixed(1).padStart(5)}%  ${String(a.selfMs).padStart(7)} ms  ${a.area}`);
  console.log('  top functions by self time:');
  for (const f of s.selfTop) console.log(`    ${f.pctOfBusy.toFixed(1).padStart(5)}%  ${String(f.selfMs).padStart(7)} ms  ${f.fn}`);
  console.log('  project functions by inclusive time:');
  for (const f of s.inclusiveTop) console.log(`    ${f.pctOfBusy.toFixed(1).padStart(5)}%  ${String(f.totalMs).padStart(7)} ms  ${f.fn}`);
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx bench/support/profile.ts <file.cpuprofile>');
    process.exit(2);
  }
  printProfile(summarizeProfile(file, Number(process.argv[3] ?? 25)));
}
