// The activity of workflows/fixed-charge-units.ts (units11, issue 11): plain JSON in and out.
import type { AdvancePeriodInput, PeriodInvoiceResult } from './types';

export interface FixedChargeUnitsResult {
  /**
   * The period's invoices of units changes: the ones issued by this call (created) and those issued earlier
   * (created: false), so a retried activity or a replayed workflow still starts each one's invoice workflow.
   */
  invoices: PeriodInvoiceResult[];
}

export interface FixedChargeUnitsActivities {
  /** Bills the units of pay-in-advance fixed charges raised in the open period and not billed yet (one invoice per change instant). */
  billFixedChargeUnitsChanges(input: AdvancePeriodInput): Promise<FixedChargeUnitsResult>;
}
