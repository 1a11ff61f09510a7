// Conformance runner for `"fixture_kind": "wallets"` fixtures: a wallet (rate_amount, granted credits, applies_to)
// and a sequence of invoices (fees with charge tax codes). Each invoice is taxed by billing/tax applyTaxes, then
// paid by the wallet with billing/wallet.ts allocatePrepaidCredits (W3) — the same two steps, in the same order,
// as finalization — and the wallet's balance carries over to the next invoice.
// Shape: { fixture_kind: "wallets", name, source, currency, taxes: [{code, name, rate}], charge_tax_codes,
//   wallet: {rate_amount, granted_credits, fee_types, billable_metric_codes},
//   invoices: [{fees: [{kind, charge, metric_code, amount_cents}]}],
//   expected: [{sub_total_including_taxes_amount_cents, prepaid_credit_amount_cents, total_amount_cents, wallet_credits_balance}] }
import { applyTaxes, type Tax } from '../../billing/tax';
import type { FeeKind } from '../../billing/invoice';
import { allocatePrepaidCredits, centsToCredits, creditsToCents, type WalletFeeType } from '../../billing/wallet';

export interface WalletFixture {
  file?: string;
  fixture_kind: 'wallets';
  name: string;
  source: string;
  currency: string;
  taxes: { code: string; name: string; rate: string }[];
  charge_tax_codes: Record<string, string[]>;
  wallet: { rate_amount: string; granted_credits: string; fee_types: WalletFeeType[]; billable_metric_codes: string[] };
  invoices: { fees: { kind: FeeKind; charge: string | null; metric_code: string | null; amount_cents: number }[] }[];
  expected: { sub_total_including_taxes_amount_cents: number; prepaid_credit_amount_cents: number; total_amount_cents: number; wallet_credits_balance: string }[];
}

export function isWalletFixture(f: unknown): f is WalletFixture {
  return (f as { fixture_kind?: string }).fixture_kind === 'wallets';
}

export function runWalletFixture(f: WalletFixture): WalletFixture['expected'] {
  const byCode = new Map<string, Tax>(f.taxes.map((t) => [t.code, { id: `tax-${t.code}`, code: t.code, name: t.name, rate: t.rate, description: null }]));
  const chargeTaxes: Record<string, Tax[]> = {};
  for (const [charge, codes] of Object.entries(f.charge_tax_codes)) chargeTaxes[charge] = codes.map((c) => byCode.get(c)!);
  let balance = creditsToCents(f.wallet.granted_credits, f.wallet.rate_amount, f.currency);
  return f.invoices.map((inv) => {
    const taxed = applyTaxes(
      inv.fees.map((fee) => ({ kind: fee.kind, chargeId: fee.charge, amountCents: fee.amount_cents, preTaxAmountCents: String(fee.amount_cents) })),
      { currency: f.currency, assignments: { chargeTaxes } },
    );
    const subTotal = inv.fees.reduce((a, fee) => a + fee.amount_cents, 0) + taxed.taxesAmountCents;
    const allocations = allocatePrepaidCredits(
      subTotal,
      inv.fees.map((fee, i) => ({ id: `f${i}`, walletFeeType: 'charge', metricCode: fee.metric_code, dueCents: fee.amount_cents + taxed.fees[i]!.taxes.taxesAmountCents })),
      [{ id: 'w', priority: 50, createdAt: '2026-01-01T00:00:00Z', balanceCents: balance, feeTypes: f.wallet.fee_types, billableMetricCodes: f.wallet.billable_metric_codes }],
    );
    const prepaid = allocations.reduce((a, x) => a + x.amountCents, 0);
    balance -= prepaid;
    return {
      sub_total_including_taxes_amount_cents: subTotal,
      prepaid_credit_amount_cents: prepaid,
      total_amount_cents: subTotal - prepaid,
      wallet_credits_balance: centsToCredits(balance, f.wallet.rate_amount, f.currency),
    };
  });
}
