// Lago's /wallets and /wallet_transactions bodies (WalletCreateInput, WalletUpdateInput,
// WalletTransactionCreateInput). Credit amounts arrive as decimal strings (or JSON numbers) and are checked by
// billing/wallet.ts parseCredits in the route (so a negative or malformed amount is Lago's 422
// `invalid_paid_credits` / `invalid_granted_credits` / `invalid_voided_credits`, naming the field).
import { z } from 'zod';
import { currencyCode, isoDateTime } from './common';
import { billingEntityCodesFilter } from './billing-entities';

const credits = z.union([z.string(), z.number()]).nullable().optional();
const metadata = z.array(z.object({ key: z.string().min(1).max(255), value: z.string().max(2000) })).max(50);
const feeType = z.enum(['charge', 'subscription', 'commitment']);

export const AppliesTo = z
  .object({
    fee_types: z.array(feeType).max(3).nullable().optional(),
    billable_metric_codes: z.array(z.string().min(1).max(255)).max(100).nullable().optional(),
  })
  .nullable()
  .optional();

export const RecurringRuleInput = z.object({
  lago_id: z.string().optional(),
  trigger: z.enum(['interval', 'threshold']),
  method: z.enum(['fixed', 'target']).optional(),
  interval: z.enum(['weekly', 'monthly', 'quarterly', 'semiannual', 'yearly']).nullable().optional(),
  threshold_credits: credits,
  paid_credits: credits,
  granted_credits: credits,
  target_ongoing_balance: credits,
  grants_target_top_up: z.boolean().nullable().optional(),
  started_at: isoDateTime.nullable().optional(),
  expiration_at: isoDateTime.nullable().optional(),
  invoice_requires_successful_payment: z.boolean().optional(),
  transaction_metadata: metadata.nullable().optional(),
  transaction_name: z.string().max(255).nullable().optional(),
});

export const WalletCreateBody = z.object({
  wallet: z.object({
    external_customer_id: z.string().min(1).max(255),
    rate_amount: z.union([z.string(), z.number()]),
    currency: currencyCode,
    name: z.string().max(255).nullable().optional(),
    code: z.string().min(1).max(255).nullable().optional(),
    priority: z.number().int().min(1).max(50).optional(),
    paid_credits: credits,
    granted_credits: credits,
    expiration_at: isoDateTime.nullable().optional(),
    invoice_requires_successful_payment: z.boolean().optional(),
    transaction_metadata: metadata.nullable().optional(),
    transaction_name: z.string().max(255).nullable().optional(),
    applies_to: AppliesTo,
    recurring_transaction_rules: z.array(RecurringRuleInput).max(1).nullable().optional(),
  }),
});

export const WalletUpdateBody = z.object({
  wallet: z.object({
    name: z.string().max(255).nullable().optional(),
    priority: z.number().int().min(1).max(50).optional(),
    expiration_at: isoDateTime.nullable().optional(),
    invoice_requires_successful_payment: z.boolean().optional(),
    applies_to: AppliesTo,
    recurring_transaction_rules: z.array(RecurringRuleInput).max(1).nullable().optional(),
  }),
});

export const WalletTransactionCreateBody = z.object({
  wallet_transaction: z.object({
    wallet_id: z.string().min(1).max(64),
    name: z.string().max(255).nullable().optional(),
    paid_credits: credits,
    granted_credits: credits,
    voided_credits: credits,
    invoice_requires_successful_payment: z.boolean().optional(),
    metadata: metadata.nullable().optional(),
  }),
});

export const WalletListQuery = z.object({
  external_customer_id: z.string().min(1).max(255).optional(),
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(20),
  // Lago 1.51: wallets of customers of these billing entities (GET /wallets).
  ...billingEntityCodesFilter,
});

export const WalletTransactionListQuery = z.object({
  status: z.enum(['pending', 'settled', 'failed']).optional(),
  transaction_status: z.enum(['purchased', 'granted', 'voided', 'invoiced']).optional(),
  transaction_type: z.enum(['inbound', 'outbound']).optional(),
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(20),
});
