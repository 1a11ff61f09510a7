// Last-resort cleanup for bench/ingest.ts, in its own detached process: when the orchestrator (argv[2]) is
// gone without cleaning up — tsx's wrapper SIGKILLs its child when a relayed Ctrl-C is not acknowledged
// within ~60 ms, for instance — it stops what the orchestrator recorded in <workDir>/reaper.json (process
// groups, single pids), shuts the embedded Postgres of <workDir>/pg down, and removes <workDir>.
// When the orchestrator cleaned up normally, <workDir> is gone and this exits without doing anything.
import fs from 'node:fs';
import path from 'node:path';

const parentPid = Number(process.argv[2]);
const workDir = process.argv[3];

interface Recorded {
  groups: number[];
  pids: number[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch {
    /* gone */
  }
}

async function waitGone(pids: number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
}

async function reap(): Promise<void> {
  if (!workDir || !fs.existsSync(workDir)) return;
  let rec: Recorded = { groups: [], pids: [] };
  try {
    rec = JSON.parse(fs.readFileSync(path.join(workDir, 'reaper.json'), 'utf8')) as Recorded;
  } catch {
    /* nothing recorded */
  }
  for (const g of rec.groups) signal(-g, 'SIGTERM');
  for (const p of rec.pids) signal(p, 'SIGTERM');
  let postmaster = 0;
  try {
    postmaster = Number(fs.readFileSync(path.join(workDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    /* not running */
  }
  if (postmaster > 0) signal(postmaster, 'SIGINT'); // fast shutdown
  await waitGone([...rec.groups, ...rec.pids, ...(postmaster > 0 ? [postmaster] : [])], 15_000);
  for (const g of rec.groups) signal(-g, 'SIGKILL');
  for (const p of rec.pids) signal(p, 'SIGKILL');
  if (postmaster > 0 && alive(postmaster)) signal(postmaster, 'SIGQUIT');
  await waitGone(postmaster > 0 ? [postmaster] : [], 5_000);
  fs.rmSync(workDir, { recursive: true, force: true });
}

const timer = setInterval(() => {
  if (alive(parentPid)) return;
  clearInterval(timer);
  void reap().finally(() => process.exit(0));
}, 500);
