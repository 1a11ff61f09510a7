// Every activity heartbeats while it runs, so a worker that dies mid-activity is noticed within the workflows'
// heartbeatTimeout (ACTIVITY_HEARTBEAT_TIMEOUT, 10 s) instead of the 1-minute startToCloseTimeout: a DELETE
// waiting on a termination whose worker crashed waits seconds, not 64 s. The SDK throttles heartbeats itself;
// called outside an activity (tests calling activities directly) the wrapper just runs the function.
import { Context } from '@temporalio/activity';

export const HEARTBEAT_INTERVAL_MS = 2_000;

function currentContext(): Context | null {
  try {
    return Context.current();
  } catch {
    return null;
  }
}

/** The same activities, each heartbeating every `intervalMs` while it runs. */
export function withHeartbeats<T extends object>(activities: T, intervalMs: number = HEARTBEAT_INTERVAL_MS): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    if (typeof fn !== 'function') {
      out[name] = fn;
      continue;
    }
    out[name] = async (...args: unknown[]) => {
      const ctx = currentContext();
      if (!ctx) return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      ctx.heartbeat();
      const timer = setInterval(() => ctx.heartbeat(), intervalMs);
      try {
        return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      } finally {
        clearInterval(timer);
      }
    };
  }
  return out as T;
}
