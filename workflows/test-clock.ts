// Test clocks in workflows (sandbox, issue 11c; behind patched('test-clocks-v1'), taken only by runs whose input
// names a test clock, so no recorded history of a real-time workflow ever sees a new command).
//
// A workflow on a test clock never times anything on Temporal's clock: it waits with condition() until the clock
// value (delivered by `testClockAdvancedSignal` from POST /test_clocks/:id/advance) reaches the instant it waits
// for. The value only moves forward (an older or another clock's signal is ignored) and is carried through
// continue-as-new in the state (`testClockNow`), so a clock advanced 12 months at once closes the 12 periods one
// run after another. `WorkflowTime` is the one seam: real time (Date.now() + timers) or the clock.
import { ApplicationFailure, condition, defineSignal, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { TestClockActivities } from '../activities/test-clocks';
import { TEST_CLOCK_ADVANCED_SIGNAL, type TestClockAdvancedPayload } from '../contracts/fleet';
import type { InvoiceWorkflowInput, SubscriptionWorkflowState, TerminateRequest, TerminateResult } from '../contracts/workflows';
import { terminateUpdate } from './messages';
import { ACTIVITY_OPTIONS } from './activity-options';

export const TEST_CLOCKS_PATCH = 'test-clocks-v1';
export const testClockAdvancedSignal = defineSignal<[TestClockAdvancedPayload]>(TEST_CLOCK_ADVANCED_SIGNAL);

const clockActivities = proxyActivities<TestClockActivities>({ ...ACTIVITY_OPTIONS, retry: { ...ACTIVITY_OPTIONS.retry, nonRetryableErrorTypes: ['test_clock_not_found'] } });

/** "Now" and "wait until a predicate or a timeout" on one time source. */
export interface WorkflowTime {
  now(): number;
  /**
   * The instant the workflow's own waits count from: real time, its start; on a test clock, the instant its
   * business event happened on the clock (the period end of a close), even when the clock has jumped past it.
   */
  startMs(): number;
  /** As condition(fn, timeoutMs): true when fn became true, false when the timeout passed first. */
  condition(fn: () => boolean, timeoutMs: number): Promise<boolean>;
}

export const REAL_TIME: WorkflowTime = {
  now: () => Date.now(),
  startMs: () => Date.now(),
  condition: (fn, timeoutMs) => condition(fn, timeoutMs),
};

export class WorkflowTestClock implements WorkflowTime {
  private readonly originMs: number;

  constructor(
    readonly id: string,
    private nowMs: number,
    private readonly onAdvance: (iso: string) => void = () => undefined,
  ) {
    this.originMs = nowMs;
  }

  startMs(): number {
    return this.originMs;
  }

  advance(p: TestClockAdvancedPayload | undefined): void {
    if (p?.testClockId !== this.id || typeof p.frozenTime !== 'string') return;
    const ms = Date.parse(p.frozenTime);
    if (Number.isNaN(ms) || ms <= this.nowMs) return;
    this.nowMs = ms;
    this.onAdvance(new Date(ms).toISOString());
  }

  now(): number {
    return this.nowMs;
  }

  reached(iso: string): boolean {
    return this.nowMs >= Date.parse(iso);
  }

  async condition(fn: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = this.nowMs + timeoutMs;
    await condition(() => fn() || this.nowMs >= deadline);
    return fn();
  }

  /** Waits until the clock reaches `iso` or `stop()`; true when the clock reached it. */
  async waitUntil(iso: string, stop: () => boolean): Promise<boolean> {
    await condition(() => stop() || this.reached(iso));
    return this.reached(iso);
  }
}

/** What the clock needs of the subscription entity to judge a termination (workflows/subscription.ts). */
export interface TerminableSubscription {
  phase: string;
  period: { start: string; end: string };
  terminationOutcome: { ok: true; result: TerminateResult } | { ok: false; failure: ApplicationFailure } | null;
  requestTermination(terminatedAt: string): void;
  /** The request's options (on_termination_invoice / on_termination_credit_note), read by the termination. */
  noteTerminationOptions?(req: TerminateRequest | undefined): void;
}

/**
 * A termination on a test clock: at the request's instant or the clock's time (never the server's), judged by the
 * entity's rules (validateTermination) with the clock as "now": within the open period, not after the clock.
 */
function validateTerminationOnClock(sub: TerminableSubscription, clock: WorkflowTestClock, req: TerminateRequest | undefined): string {
  if (sub.phase === 'terminated') throw ApplicationFailure.nonRetryable('The subscription is already terminated', 'already_terminated');
  if (sub.phase === 'terminating') throw ApplicationFailure.nonRetryable('A termination is already in progress', 'termination_in_progress');
  if (sub.phase === 'closing') throw ApplicationFailure.retryable(`The period ending ${sub.period.end} is being closed; retry the termination`, 'period_closing');
  const atMs = req?.terminatedAt === undefined ? clock.now() : Date.parse(req.terminatedAt);
  if (Number.isNaN(atMs)) throw ApplicationFailure.nonRetryable(`terminatedAt is not an ISO datetime: ${String(req?.terminatedAt)}`, 'invalid_datetime');
  if (atMs <= Date.parse(sub.period.start)) throw ApplicationFailure.nonRetryable(`terminatedAt must be after the open period's start ${sub.period.start}`, 'invalid_terminated_at');
  if (atMs > clock.now()) throw ApplicationFailure.nonRetryable("terminatedAt is after the test clock's time", 'invalid_terminated_at');
  if (atMs > Date.parse(sub.period.end)) throw ApplicationFailure.retryable(`The period ending ${sub.period.end} is not closed yet; retry the termination once it is`, 'period_closing');
  return new Date(atMs).toISOString();
}

/**
 * Subscription workflow hook: the test clock of a subscription on one (null otherwise). Keeps `state.testClockNow`
 * up to date, so the next run's state (built from the same state object) carries the clock's latest time, and
 * replaces the terminate handler by one that reads the clock. A run started without a clock time (the API, or the
 * sweeper restarting it) reads it from Postgres first.
 */
export async function subscriptionTestClock(
  state: SubscriptionWorkflowState,
  sub: TerminableSubscription,
  onClock: (clock: WorkflowTestClock) => void = () => undefined,
): Promise<WorkflowTestClock | null> {
  if (!state.testClockId || !patched(TEST_CLOCKS_PATCH)) return null;
  const start = state.testClockNow ? Date.parse(state.testClockNow) : Number.NEGATIVE_INFINITY;
  const clock = new WorkflowTestClock(state.testClockId, start, (iso) => {
    state.testClockNow = iso;
  });
  setHandler(testClockAdvancedSignal, (p) => clock.advance(p));
  setHandler(
    terminateUpdate,
    async (req) => {
      sub.requestTermination(validateTerminationOnClock(sub, clock, req));
      sub.noteTerminationOptions?.(req);
      await condition(() => sub.terminationOutcome !== null);
      const outcome = sub.terminationOutcome!;
      if (!outcome.ok) throw outcome.failure;
      return outcome.result;
    },
    { validator: (req) => void validateTerminationOnClock(sub, clock, req) },
  );
  // The rest of the subscription's time on the clock (workflows/clock-coverage.ts), before the clock is read.
  onClock(clock);
  if (!state.testClockNow) {
    const { frozenTime } = await clockActivities.readTestClock({ organizationId: state.organizationId, testClockId: state.testClockId });
    clock.advance({ testClockId: state.testClockId, frozenTime });
  }
  return clock;
}

/**
 * What an invoice workflow started by this subscription needs to know about its clock ({} in real time): the clock,
 * and the instant on it the invoice was made at (`at`: the period end of a close, the termination instant), from
 * which its grace period counts even when the clock jumped further (the invoice workflow catches up at start).
 */
export function invoiceClockFields(state: SubscriptionWorkflowState, at: string): Pick<InvoiceWorkflowInput, 'testClockId' | 'testClockNow'> {
  if (!state.testClockId || !state.testClockNow) return {};
  return { testClockId: state.testClockId, testClockNow: at };
}

/** Invoice workflow hook: the time source of its grace period, overdue timer and dunning ladder. */
export function invoiceWorkflowTime(input: InvoiceWorkflowInput): WorkflowTime {
  if (!input.testClockId || !input.testClockNow || !patched(TEST_CLOCKS_PATCH)) return REAL_TIME;
  const clock = new WorkflowTestClock(input.testClockId, Date.parse(input.testClockNow));
  setHandler(testClockAdvancedSignal, (p) => clock.advance(p));
  return clock;
}

/**
 * Reads a test clock's time from Postgres (after the handlers are registered): an advance announced while the
 * workflow did not exist yet is not missed. Nothing (no command) in real time.
 */
export async function catchUpTestClock(time: WorkflowTime, organizationId: string): Promise<void> {
  if (!(time instanceof WorkflowTestClock)) return;
  const { frozenTime } = await clockActivities.readTestClock({ organizationId, testClockId: time.id });
  time.advance({ testClockId: time.id, frozenTime });
}
