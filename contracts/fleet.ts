// Results of the fleet workflows started by the Temporal Schedules (worker/schedules.ts), and the test clock
// signal payload. Plain JSON: each run's result is shown in the Temporal UI and `temporal workflow show`.

export interface SweepSubscriptionsResult {
  /** Live (pending or active) subscriptions compared with Temporal. */
  checked: number;
  /** Their workflow was running. */
  running: number;
  /** Workflow missing, failed, terminated or timed out: started again from Postgres state. */
  restarted: number;
  /** Running but the period ended long ago without an invoice: sent retryPeriodCloseSignal. */
  signaled: number;
  /** The workflow completed while Postgres says live (never restarted: an operator should look). */
  inconsistent: number;
  /** Up to 50 subscription ids restarted or signaled in this run (diagnostics). */
  healedSubscriptionIds: string[];
}

export interface FinalizeDraftsResult {
  /** Drafts whose grace period ended more than the slack ago. */
  found: number;
  /** Finalized through their running workflow (finalizeInvoiceUpdate). */
  finalizedByUpdate: number;
  /** Their invoice workflow was gone: started again with no grace period left (it finalizes at once). */
  restarted: number;
  /** Could not be finalized now (refused or failed; retried by the next run). */
  failed: number;
  invoiceIds: string[];
}

export interface OverdueCheckResult {
  /** Invoices newly marked payment_overdue. */
  marked: number;
  invoiceIds: string[];
}

/** Sent to the workflows of a test clock's subscriptions and invoices when the clock advances. */
export interface TestClockAdvancedPayload {
  testClockId: string;
  /** The clock's new time (ISO UTC). Clocks only move forward; an older value is ignored. */
  frozenTime: string;
}

export const TEST_CLOCK_ADVANCED_SIGNAL = 'testClockAdvancedSignal';
export const RETRY_PERIOD_CLOSE_SIGNAL = 'retryPeriodCloseSignal';
export const FINALIZE_INVOICE_UPDATE = 'finalizeInvoiceUpdate';
