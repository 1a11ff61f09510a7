// A child process of a tool exits when its orchestrator (CHAOS_PARENT_PID) is gone.
export function watchParent(): void {
  const parentPid = Number(process.env.CHAOS_PARENT_PID ?? 0);
  if (parentPid <= 0) return;
  setInterval(() => {
    try {
      process.kill(parentPid, 0);
    } catch {
      process.exit(0);
    }
  }, 1000).unref();
}
