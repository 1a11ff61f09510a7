// Coalesced usage signals. After commit, new events become deltas per subscription (metric, hour bucket);
// a timer sends each subscription's accumulated deltas at most once per `intervalMs` as ONE usageSignal.
// Signals are advisory (invoices are recomputed from Postgres): a failed send is logged and its deltas are
// merged back for the next tick; a workflow that no longer exists drops them.
// Each flush also hands the deltas to an optional observer (the late-event notifier, late-events.ts), which
// signals draft invoices whose period the new events fall in.
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { subscriptionWorkflowId, usageSignal, type UsageDelta } from '../../workflows/messages';
import { consoleLogger, type Logger } from '../errors';
import { addDecimal } from './decimal';

/** Sees every subscription's deltas at each flush (late-events.ts LateEventNotifier). */
export interface UsageDeltaObserver {
  observe(subscriptionId: string, deltas: Iterable<UsageDelta>): void;
  /** Called once per tick, after observe(): start processing in the background. */
  tick(): void;
  /** Process everything observed and wait for it. */
  flush(): Promise<void>;
}

export interface UsageSignallerOptions {
  intervalMs?: number;
  logger?: Logger;
  observer?: UsageDeltaObserver;
}

export interface UsageSignallerCounters {
  signalsSent: number;
  signalFailures: number;
  deltasSent: number;
  eventsSignalled: number;
}

type Deltas = Map<string, UsageDelta>; // key: metricCode \0 bucketStart

export class UsageSignaller {
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly observer: UsageDeltaObserver | null;
  private readonly pending = new Map<string, Deltas>(); // subscription id → deltas
  private readonly sending = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  readonly counters: UsageSignallerCounters = { signalsSent: 0, signalFailures: 0, deltasSent: 0, eventsSignalled: 0 };

  constructor(private readonly temporal: Client, options: UsageSignallerOptions = {}) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.logger = options.logger ?? consoleLogger;
    this.observer = options.observer ?? null;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Stop the timer and send what is pending. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /** Record usage of committed, new events. `units` is a decimal string ("0" for count metrics). */
  add(subscriptionId: string, delta: UsageDelta): void {
    let deltas = this.pending.get(subscriptionId);
    if (!deltas) {
      deltas = new Map();
      this.pending.set(subscriptionId, deltas);
    }
    merge(deltas, delta);
  }

  /** Send every subscription's pending deltas now (shutdown, tests) and wait for the sends. */
  async flush(): Promise<void> {
    await Promise.all([...this.inFlight]);
    this.tick();
    await Promise.all([...this.inFlight]);
    await this.observer?.flush();
  }

  /** Subscriptions with deltas waiting to be sent. */
  pendingSubscriptions(): number {
    return this.pending.size;
  }

  private tick(): void {
    for (const [subscriptionId, deltas] of this.pending) {
      if (this.sending.has(subscriptionId)) continue; // one send per subscription at a time
      this.pending.delete(subscriptionId);
      this.observer?.observe(subscriptionId, deltas.values());
      this.sending.add(subscriptionId);
      const p = this.send(subscriptionId, deltas).finally(() => {
        this.sending.delete(subscriptionId);
        this.inFlight.delete(p);
      });
      this.inFlight.add(p);
    }
    this.observer?.tick();
  }

  private async send(subscriptionId: string, deltas: Deltas): Promise<void> {
    const payload = { deltas: [...deltas.values()] };
    try {
      await this.temporal.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).signal(usageSignal, payload);
      this.counters.signalsSent += 1;
      this.counters.deltasSent += payload.deltas.length;
      this.counters.eventsSignalled += payload.deltas.reduce((n, d) => n + d.eventsCount, 0);
    } catch (err) {
      this.counters.signalFailures += 1;
      if (err instanceof WorkflowNotFoundError) {
        this.logger.warn('usage signal dropped: subscription workflow not found', { subscriptionId });
        return;
      }
      this.logger.warn('usage signal failed; retrying on the next flush', { subscriptionId, error: String(err) });
      for (const d of deltas.values()) this.add(subscriptionId, d);
    }
  }
}

function merge(deltas: Deltas, delta: UsageDelta): void {
  const k = `${delta.metricCode}\u0000${delta.bucketStart}`;
  const existing = deltas.get(k);
  if (existing) {
    existing.eventsCount += delta.eventsCount;
    existing.units = addDecimal(existing.units, delta.units);
  } else {
    deltas.set(k, { ...delta });
  }
}
