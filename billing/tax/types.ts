// Tax engine types (pure). Rates are percentages as decimal strings ("20", "25.5"); amounts are integer
// minor units, precise (unrounded) amounts decimal strings of minor units, as Lago's `precise_*_cents`.
import type { FeeKind } from '../invoice';

/** A tax object (Lago `tax`): an organization-scoped rate with a unique code. */
export interface Tax {
  id: string;
  code: string;
  name: string;
  /** Percentage as a decimal string: "20" means 20 %. */
  rate: string;
  description: string | null;
}

/** Which level of Lago's precedence (or which automatic mechanism) chose a fee's taxes. */
export type TaxSource = 'explicit' | 'add_on' | 'charge' | 'plan' | 'customer' | 'rule' | 'organization' | 'provider' | 'none';

/** What the engine needs of a fee: its kind, what it bills, and its amount after coupons. */
export interface TaxableFee {
  kind: FeeKind | 'add_on';
  chargeId: string | null;
  addOnId?: string | null;
  /** The fee's rounded amount (before coupons). */
  amountCents: number;
  /**
   * The fee's amount after coupons, in minor units, unrounded (Lago `sub_total_excluding_taxes_precise_amount_cents`,
   * i.e. amount_cents − precise_coupons_amount_cents). Defaults to amountCents while coupons do not exist.
   */
  preTaxAmountCents?: string;
}

/** The taxes attached at each level of the precedence (Lago: taxes on charges/add-ons, plans, customers, the organization). */
export interface TaxAssignments {
  /** Tax codes given for a one-off invoice: override everything (Lago `Fees::ApplyTaxesService` tax_codes). */
  explicit?: Tax[];
  addOnTaxes?: Record<string, Tax[]>;
  chargeTaxes?: Record<string, Tax[]>;
  planTaxes?: Tax[];
  customerTaxes?: Tax[];
  /** The tax decided by the automatic rules (billing/tax/rules.ts) for a customer without tax codes. */
  automatic?: Tax[];
  /** The organization's default taxes (Lago `applied_to_organization`). */
  organizationTaxes?: Tax[];
}

/** Lago `Fee::AppliedTax` (FeeAppliedTaxObject), camelCase. */
export interface FeeAppliedTax {
  taxId: string;
  taxCode: string;
  taxName: string;
  taxRate: string;
  taxDescription: string | null;
  /** Rounded half-up to the minor unit (rounding point T1). */
  amountCents: number;
  /** Unrounded. */
  preciseAmountCents: string;
  amountCurrency: string;
}

export interface FeeTaxes {
  source: TaxSource;
  appliedTaxes: FeeAppliedTax[];
  /** Σ unrounded per-tax amounts, rounded once (T2). */
  taxesAmountCents: number;
  taxesPreciseAmountCents: string;
  /** Σ of the applied rates, a percentage. */
  taxesRate: string;
  /** The base the taxes were computed on (after coupons), unrounded. */
  subTotalExcludingTaxesPreciseAmountCents: string;
}

/** Lago `Invoice::AppliedTax` (InvoiceAppliedTaxObject), camelCase. */
export interface InvoiceAppliedTax {
  taxId: string;
  taxCode: string;
  taxName: string;
  taxRate: string;
  taxDescription: string | null;
  /** round(Σ over the fees carrying this tax of base × rate / 100) (T3). */
  amountCents: number;
  preciseAmountCents: string;
  /** Σ of the bases of the fees carrying this tax, rounded once (T3). */
  feesAmountCents: number;
  amountCurrency: string;
}

export interface TaxedInvoice<F extends TaxableFee> {
  fees: (F & { taxes: FeeTaxes })[];
  appliedTaxes: InvoiceAppliedTax[];
  /** round(Σ over taxes of the unrounded per-tax sums) (T4): may differ from Σ fee taxes. */
  taxesAmountCents: number;
  /** Lago `invoice.taxes_rate`: Σ rate × (fees carrying it / sub-total), 5 decimals. */
  taxesRate: string;
}
