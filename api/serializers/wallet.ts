// Lago's WalletObject and WalletTransactionObject (lago-openapi-1.51.0) from the stored records. Credits are
// shown through billing/wallet.ts centsToCredits (W2, display only); money fields are integer cents.
// Documented differences: a wallet's `metadata`, payment methods, custom sections and paid top-up limits are not
// implemented (null / [] as Lago types them). An expiry is shown as an outbound `voided` transaction (Lago's
// enum has no `expired`) named "Credits expired"; the source of expiry and termination movements is `manual`.
import { centsToAmount, centsToCredits } from '../../billing/wallet';
import type { RecurringRuleRecord, WalletRecord, WalletTransactionRecord } from '../../db/repositories/wallets';

function rule(r: RecurringRuleRecord) {
  return {
    lago_id: r.id,
    trigger: r.trigger,
    method: r.method,
    interval: r.interval,
    status: r.status,
    threshold_credits: r.thresholdCredits,
    paid_credits: r.paidCredits,
    granted_credits: r.grantedCredits,
    grants_target_top_up: r.method === 'target' ? r.grantsTargetTopUp : null,
    started_at: r.startedAt,
    target_ongoing_balance: r.targetOngoingBalance,
    created_at: r.createdAt,
    expiration_at: r.expirationAt,
    invoice_requires_successful_payment: r.invoiceRequiresSuccessfulPayment,
    transaction_metadata: r.transactionMetadata,
    transaction_name: r.transactionName,
    ignore_paid_top_up_limits: false,
  };
}

export function serializeWallet(w: WalletRecord) {
  const credits = (cents: number) => centsToCredits(cents, w.rateAmount, w.currency);
  return {
    lago_id: w.id,
    lago_customer_id: w.customerId,
    external_customer_id: w.externalCustomerId,
    billing_entity_code: w.billingEntityCode,
    status: w.status,
    currency: w.currency,
    name: w.name,
    code: w.code,
    priority: w.priority,
    rate_amount: w.rateAmount,
    credits_balance: credits(w.balanceCents),
    // Lago 1.51 still requires its deprecated `balance` (the balance in credits, credits_balance's old name).
    balance: credits(w.balanceCents),
    balance_cents: w.balanceCents,
    consumed_credits: credits(w.consumedCents),
    created_at: w.createdAt,
    expiration_at: w.expirationAt,
    last_balance_sync_at: w.lastBalanceSyncAt,
    last_consumed_credit_at: w.lastConsumedCreditAt,
    terminated_at: w.terminatedAt,
    invoice_requires_successful_payment: w.invoiceRequiresSuccessfulPayment,
    applies_to: { fee_types: w.feeTypes ?? [], billable_metric_codes: w.billableMetricCodes ?? [] },
    recurring_transaction_rules: w.rules.filter((r) => r.status === 'active').map(rule),
    ongoing_balance_cents: w.ongoingBalanceCents,
    ongoing_usage_balance_cents: w.ongoingUsageBalanceCents,
    credits_ongoing_balance: credits(w.ongoingBalanceCents),
    credits_ongoing_usage_balance: credits(w.ongoingUsageBalanceCents),
    // Meterline: when the ongoing balance last changed, as confirmed from Postgres (null: never confirmed).
    ongoing_balance_confirmed_at: w.ongoingBalanceConfirmedAt,
    paid_top_up_min_amount_cents: null,
    paid_top_up_max_amount_cents: null,
    metadata: w.metadata ?? null, // Lago's MetadataObject (api/routes/object-metadata.ts)
  };
}

export function serializeWalletTransaction(t: WalletTransactionRecord, w: Pick<WalletRecord, 'currency' | 'priority'>) {
  const expiry = t.transactionStatus === 'expired';
  return {
    lago_id: t.id,
    lago_wallet_id: t.walletId,
    lago_invoice_id: t.invoiceId,
    lago_credit_note_id: null,
    lago_voided_invoice_id: null,
    status: t.status,
    source: t.source === 'interval' || t.source === 'threshold' ? t.source : 'manual',
    transaction_status: expiry ? 'voided' : t.transactionStatus,
    transaction_type: t.transactionType,
    amount: centsToAmount(t.amountCents, w.currency),
    credit_amount: t.creditAmount,
    remaining_amount_cents: null,
    remaining_credit_amount: null,
    priority: w.priority,
    invoice_requires_successful_payment: t.invoiceRequiresSuccessfulPayment,
    settled_at: t.settledAt,
    failed_at: t.failedAt,
    created_at: t.createdAt,
    metadata: t.metadata,
    name: t.name,
    // Lago's PaymentMethodReference, its default: the customer's payment provider collects a paid top-up's invoice
    // (no payment method objects: no payment_method_id).
    payment_method: { payment_method_type: 'provider' },
  };
}
