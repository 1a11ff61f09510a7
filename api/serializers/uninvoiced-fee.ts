// Lago's FeeObject for a fee on no invoice (a pay-in-advance charge's fee with `invoiceable: false`, Lago's instant
// fee): the invoice serializer's fee (api/serializers/invoice.ts lagoFee), with what the fee has of its own:
// lago_invoice_id null, invoiceable false, pay_in_advance true, its own payment_status and status timestamps, the
// event it bills (event_transaction_id), from_date / to_date = the billing period it belongs to. Untaxed: taxes are
// computed on invoices, and this fee is on none (taxes_amount_cents 0, applied_taxes []).
import type { UninvoicedFeeRecord } from '../../db/repositories/uninvoiced-fees';
import { lagoFee } from './invoice';

export function uninvoicedFee(fee: UninvoicedFeeRecord, metricIdByCharge: Map<string, string>) {
  return lagoFee(
    {
      id: fee.id,
      feeType: 'charge',
      chargeId: fee.chargeId,
      lagoChargeId: fee.chargeId,
      metricCode: fee.metricCode,
      displayName: fee.displayName,
      filterIndex: fee.filterIndex,
      filterValues: null,
      groupedBy: fee.groupedBy,
      units: fee.units,
      eventsCount: 1,
      unitAmount: fee.unitAmount,
      preciseAmount: fee.preciseAmount,
      amountCents: fee.amountCents,
      currency: fee.currency,
      fromDatetime: fee.periodStart,
      toDatetime: fee.periodEnd,
      payInAdvance: true,
      uninvoiced: {
        paymentStatus: fee.paymentStatus,
        createdAt: fee.createdAt,
        succeededAt: fee.succeededAt,
        failedAt: fee.failedAt,
        refundedAt: fee.refundedAt,
        eventTransactionId: fee.transactionId,
      },
    },
    {
      id: null,
      subscriptionId: fee.subscriptionId,
      customerId: fee.customerId,
      externalCustomerId: fee.externalCustomerId,
      externalSubscriptionId: fee.externalSubscriptionId,
      metricIdByCharge,
      createdAt: fee.createdAt,
      paymentStatus: fee.paymentStatus,
      planCode: '',
    },
  );
}
