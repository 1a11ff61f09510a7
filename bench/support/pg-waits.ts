// Samples pg_stat_activity of one database every `intervalMs` while a scenario runs: what the other sessions
// (the API's pool) are doing — running on CPU, waiting for a lock, for WAL flush, or sitting idle inside a
// transaction while the client works. Result: average number of sessions in each state.
import pg from 'pg';

export interface WaitProfile {
  samples: number;
  /** state → average sessions in that state per sample (e.g. "active Lock:transactionid": 1.4). */
  avgSessions: Record<string, number>;
}

export class PgWaitSampler {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private samples = 0;
  private counts = new Map<string, number>();
  private busy = false;

  constructor(private readonly databaseUrl: string, private readonly intervalMs = 20) {}

  async start(): Promise<void> {
    this.client = new pg.Client({ connectionString: this.databaseUrl });
    this.client.on('error', () => {}); // Postgres going away (Ctrl-C) must not crash the orchestrator
    await this.client.connect();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  private async sample(): Promise<void> {
    if (this.busy || !this.client) return;
    this.busy = true;
    try {
      const r = await this.client.query(
        `SELECT state, wait_event_type, wait_event FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
           AND state IN ('active', 'idle in transaction')`,
      );
      this.samples += 1;
      for (const row of r.rows as { state: string; wait_event_type: string | null; wait_event: string | null }[]) {
        const k = row.state === 'active' ? `active ${row.wait_event_type ? `${row.wait_event_type}:${row.wait_event}` : 'on CPU'}` : 'idle in transaction (client)';
        this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
      }
    } catch {
      /* a failed sample is skipped */
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<WaitProfile> {
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 5));
    await this.client?.end().catch(() => {});
    this.client = null;
    const avgSessions: Record<string, number> = {};
    for (const [k, n] of [...this.counts].sort((a, b) => b[1] - a[1])) avgSessions[k] = Math.round((n / Math.max(1, this.samples)) * 100) / 100;
    return { samples: this.samples, avgSessions };
  }
}

export function formatWaits(w: WaitProfile): string {
  const parts = Object.entries(w.avgSessions).map(([k, v]) => `${k} ${v.toFixed(2)}`);
  return parts.length ? parts.join(', ') : 'no active sessions sampled';
}
