// The tax-provider port: an external tax engine (as Lago's Anrok / Avalara integrations) that replaces the
// automatic rules. It answers per fee with already rounded tax lines (billing/tax/provider.applyProviderTaxes
// turns them into applied taxes). Failures are classified at the source:
//   transient (timeouts, 5xx, rate limits) → retried by the activity's retry policy;
//   permanent (bad address, unknown customer, invalid request) → non-retryable, the invoice waits with the reason.
import { ApplicationFailure } from '@temporalio/common';
import type { ProviderFeeTaxes } from '../../billing/tax';

export interface TaxProviderAddress {
  country: string;
  state?: string | null;
  city?: string | null;
  zipcode?: string | null;
  addressLine1?: string | null;
}

export interface TaxProviderRequest {
  /** Idempotency key from business ids: `invoice:<id>:taxes`. */
  idempotencyKey: string;
  /** The invoice being finalized (Lago sends it as the aggregator payload's `id`). */
  invoiceId?: string;
  currency: string;
  /** YYYY-MM-DD */
  taxPointDate: string;
  customer: { externalId: string; name?: string | null; address: TaxProviderAddress; taxIdentificationNumber?: string | null };
  fees: { itemKey: string; itemCode: string; amountCents: number }[];
}

export interface TaxProvider {
  readonly name: string;
  computeTaxes(req: TaxProviderRequest): Promise<ProviderFeeTaxes[]>;
}

export type TaxProviderErrorKind = 'transient' | 'permanent';

export class TaxProviderError extends Error {
  constructor(
    readonly kind: TaxProviderErrorKind,
    /** Stable code, e.g. `tax_provider_timeout`, `tax_provider_unavailable`, `tax_provider_invalid_address`. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown; providerCode?: string },
  ) {
    super(message, options);
    this.name = 'TaxProviderError';
    this.providerCode = options?.providerCode ?? code;
  }

  /** The engine's own code for the failure (Anrok's `customerAddressCouldNotResolve`), stored in error_details. */
  readonly providerCode: string;
}

/** For activities: permanent → non-retryable ApplicationFailure with the code as type; transient → rethrown as is. */
export function classifyTaxProviderError(err: unknown): unknown {
  if (err instanceof TaxProviderError && err.kind === 'permanent') {
    return ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: true, cause: err });
  }
  return err;
}
