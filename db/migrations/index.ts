// Migrations are listed statically so they load the same way under tsx, jest and a compiled build.
import type { Knex } from 'knex';
import * as initial from './20261127000001_initial';
import * as invoiceFullPeriod from './20261127000002_invoice_full_period';
import * as api from './20261127000003_api';
import * as usageRollups from './20261127000004_usage_rollups';
import * as eventErrorsAndImports from './20261127000005_event_errors_and_imports';
import * as feeAdjustments from './20261127000006_fee_adjustments';
import * as thresholdsAndAlerts from './20261127000007_thresholds_and_alerts';
import * as fxRates from './20261201000400_fx_rates';
import * as invoiceFx from './20261201000401_invoice_fx';
import * as invoiceDocuments from './20261201000402_invoice_documents';
import * as partitionedEvents from './20261201001900_partitioned_events';
import * as rollupValueTime from './20261201001901_rollup_value_time';
import * as eventsSetBasedDedup from './20261201002000_events_set_based_dedup';
import * as eventKeysLocateEvents from './20261201002700_event_keys_locate_events';
import * as eventsKeysetIndex from './20261201002400_events_keyset_index';
import * as quarantinedEvents from './20261201000200_quarantined_events';
import * as apiKeyManagement from './20261201000201_api_key_management';
import * as perOrgNumbering from './20261201000202_per_org_numbering';
import * as taxes from './20261201000300_taxes';
import * as invoiceTaxes from './20261201000301_invoice_taxes';
import * as webhooks from './20261201000600_webhooks';
import * as payments from './20261201000500_payments';
import * as payInAdvance from './20261201000700_pay_in_advance';
import * as testClocks from './20261201000900_test_clocks';
import * as wallets from './20261201001000_wallets';
import * as customerPortal from './20261201001200_customer_portal';
import * as catalogDeletion from './20261201001300_catalog_deletion';
import * as chargeCodes from './20261201001600_charge_codes';
import * as feePaymentStatus from './20261201002100_fee_payment_status';
import * as couponsAddOnsCreditNotes from './20261201001100_coupons_add_ons_credit_notes';
import * as planChanges from './20261201000800_plan_changes';
import * as subscriptionSuspensions from './20261201001500_subscription_suspensions';
import * as creditNoteDocuments from './20261201001800_credit_note_documents';
import * as topUpInvoices from './20261201001801_top_up_invoices';
import * as planOverrides from './20261201002200_plan_overrides';
import * as subscriptionTerminationOptions from './20261201002300_subscription_termination_options';
import * as feePlan from './20261201002500_fee_plan';
import * as customerMoney from './20261201002900_customer_money'; // ops13a (issue 13)
import * as rollupRewrites from './20261201002800_rollup_rewrites';
import * as objectMetadata from './20261201003000_object_metadata';
import * as lifetimeUsageDisputes from './20261202000300_lifetime_usage_disputes'; // ops13c (issue 13)
import * as walletAlertsTracesPaymentMethods from './20261202000400_wallet_alerts_traces_payment_methods'; // ops13d (issue 13)
import * as chargeRegroupPaidFees from './20261201002600_charge_regroup_paid_fees';
import * as fixedCharges from './20261202000500_fixed_charges'; // fixed13 (issues 11 + 13)
import * as apiKeyChangeNotify from './20261203000100_api_key_change_notify'; // ingest7c (issue 7)
import * as entitlements from './20261203000200_entitlements'; // ops13f (issue 13)
import * as billingEntities from './20261203000300_billing_entities'; // ops13g (issue 13)
import * as apiLogs from './20261203000301_api_logs'; // ops13g (issue 13)
import * as activityLogs from './20261203000302_activity_logs'; // ops13g (issue 13)
import * as invoiceDeletion from './20261204000100_invoice_deletion'; // del13 (issue 13)
import * as taxProviderFailedInvoices from './20261204000200_tax_provider_failed_invoices'; // failed13 (issue 13)
import * as fixedChargeUnitsSource from './20261204000400_fixed_charge_units_source'; // units11 (issue 11)
import * as billingEntityIssuing from './20261204000300_billing_entity_issuing'; // entity13 (issue 13)

type Migration = { up(knex: Knex): Promise<void>; down(knex: Knex): Promise<void> };

export const migrations: Record<string, Migration> = {
  '20261127000001_initial': initial,
  '20261127000002_invoice_full_period': invoiceFullPeriod,
  '20261127000003_api': api,
  '20261127000004_usage_rollups': usageRollups,
  '20261127000005_event_errors_and_imports': eventErrorsAndImports,
  '20261127000006_fee_adjustments': feeAdjustments,
  '20261127000007_thresholds_and_alerts': thresholdsAndAlerts,
  '20261201000400_fx_rates': fxRates,
  '20261201000401_invoice_fx': invoiceFx,
  '20261201000402_invoice_documents': invoiceDocuments,
  '20261201000200_quarantined_events': quarantinedEvents,
  '20261201000201_api_key_management': apiKeyManagement,
  '20261201000202_per_org_numbering': perOrgNumbering,
  '20261201000300_taxes': taxes,
  '20261201000301_invoice_taxes': invoiceTaxes,
  '20261201000600_webhooks': webhooks,
  '20261201000500_payments': payments,
  '20261201000700_pay_in_advance': payInAdvance,
  '20261201000900_test_clocks': testClocks,
  '20261201001000_wallets': wallets,
  '20261201001200_customer_portal': customerPortal,
  '20261201001300_catalog_deletion': catalogDeletion,
  '20261201001100_coupons_add_ons_credit_notes': couponsAddOnsCreditNotes,
  '20261201000800_plan_changes': planChanges,
  '20261201001500_subscription_suspensions': subscriptionSuspensions,
  '20261201001800_credit_note_documents': creditNoteDocuments,
  '20261201001801_top_up_invoices': topUpInvoices,
  '20261201001900_partitioned_events': partitionedEvents,
  '20261201001901_rollup_value_time': rollupValueTime,
  '20261201002400_events_keyset_index': eventsKeysetIndex,
  '20261201001600_charge_codes': chargeCodes,
  '20261201002200_plan_overrides': planOverrides,
  '20261201002100_fee_payment_status': feePaymentStatus,
  '20261201002000_events_set_based_dedup': eventsSetBasedDedup,
  '20261201002300_subscription_termination_options': subscriptionTerminationOptions,
  '20261201002500_fee_plan': feePlan,
  '20261201002900_customer_money': customerMoney, // ops13a (issue 13)
  '20261201002700_event_keys_locate_events': eventKeysLocateEvents,
  '20261201002800_rollup_rewrites': rollupRewrites,
  '20261201003000_object_metadata': objectMetadata,
  '20261201002600_charge_regroup_paid_fees': chargeRegroupPaidFees,
  '20261202000300_lifetime_usage_disputes': lifetimeUsageDisputes, // ops13c (issue 13)
  '20261202000500_fixed_charges': fixedCharges, // fixed13 (issues 11 + 13)
  '20261203000100_api_key_change_notify': apiKeyChangeNotify, // ingest7c (issue 7)
  '20261202000400_wallet_alerts_traces_payment_methods': walletAlertsTracesPaymentMethods, // ops13d (issue 13)
  '20261203000200_entitlements': entitlements, // ops13f (issue 13)
  '20261203000300_billing_entities': billingEntities, // ops13g (issue 13)
  '20261203000301_api_logs': apiLogs, // ops13g (issue 13)
  '20261203000302_activity_logs': activityLogs, // ops13g (issue 13)
  '20261204000100_invoice_deletion': invoiceDeletion, // del13 (issue 13)
  '20261204000200_tax_provider_failed_invoices': taxProviderFailedInvoices, // failed13 (issue 13)
  '20261204000400_fixed_charge_units_source': fixedChargeUnitsSource, // units11 (issue 11)
  '20261204000300_billing_entity_issuing': billingEntityIssuing, // entity13 (issue 13)
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};
