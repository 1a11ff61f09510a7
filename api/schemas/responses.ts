// The 2xx response bodies of every route, as zod schemas: the source of the `responses` of the OpenAPI
// document (api/schemas/openapi.ts) and of test/api/openapi-responses.test.ts, which validates real answers
// of every route against them. They describe what the serializers in api/routes/ and api/serializers/ really
// send, field by field, in Lago's shapes (lago-openapi-1.51.0: BillableMetricObject, PlanObject,
// CustomerObject, SubscriptionObject, EventObject, AlertObject, CustomerUsageObject, InvoiceObjectExtended,
// PaginationMeta).
//
// Objects are CLOSED (`additionalProperties: false` in the document): a field a serializer adds without adding
// it here fails the conformance test and `npm run fuzz`, so the document can never silently lag behind the API.
// A field always null today (a Lago feature not implemented yet) is typed as Lago types it, nullable.
//
// Every schema is registered in `responseRegistry` under its component name; openapi.ts emits the registry
// as `components.schemas` with `$ref`s between them.
import { z } from 'zod';

export const responseRegistry = z.registry<{ id: string }>();

function component<T extends z.ZodType>(id: string, schema: T): T {
  responseRegistry.add(schema, { id });
  return schema;
}

const str = z.string();
const nstr = z.string().nullable();
const int = z.number().int();
const nint = z.number().int().nullable();
/** An ISO-8601 instant as the API prints it (`2026-09-01T00:00:00.000Z`). */
const instant = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
const ninstant = instant.nullable();
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
/** A decimal number written as a string (`"0.000002"`, `"-12"`, `"1e-7"` never: always positional). */
const decimal = z.string().regex(/^-?\d+(\.\d+)?$/);
const json = z.record(z.string(), z.unknown());
const currency = z.string().regex(/^[A-Z]{3}$/);

/** Meterline's Stripe connection (api/routes/payment-settings.ts): the secret key is never read back. */
const PaymentProviderObject = component(
  'PaymentProviderObject',
  z.object({
    code: z.string(),
    payment_provider: z.literal('stripe'),
    secret_key_last4: z.string(),
    webhook_secret_configured: z.boolean(),
    success_redirect_url: z.string().nullable(),
    created_at: z.string(),
  }),
);

/** Meterline's dunning campaign (Lago's dunning campaign fields plus `consequence`). */
const DunningCampaignObject = component(
  'DunningCampaignObject',
  z.object({
    lago_id: z.string(),
    code: z.string(),
    name: z.string(),
    max_attempts: z.number().int(),
    days_between_attempts: z.number().int(),
    thresholds: z.array(z.object({ currency: z.string().regex(/^[A-Z]{3}$/), amount_cents: z.number().int() })),
    consequence: z.enum(['mark_uncollectible', 'suspend_subscription', 'terminate_subscription']),
    applied_to_organization: z.boolean(),
    created_at: z.string(),
  }),
);

/** A test clock (Meterline sandbox; api/routes/test-clocks.ts). `status` is always `ready` once an advance has answered. */
export const TestClockObject = component(
  'TestClockObject',
  z.object({ lago_id: str, name: nstr, frozen_time: instant, status: z.enum(['ready']), created_at: instant }),
);

export const PaginationMeta = component(
  'PaginationMeta',
  z.object({ current_page: int, next_page: nint, prev_page: nint, total_pages: int, total_count: int }),
);

// ---- catalog -----------------------------------------------------------------------------------------------

export const BillableMetricObject = component(
  'BillableMetricObject',
  z.object({
    lago_id: str,
    name: str,
    code: str,
    description: nstr,
    aggregation_type: z.enum(['count_agg', 'sum_agg', 'max_agg', 'unique_count_agg', 'latest_agg', 'weighted_sum_agg']),
    field_name: nstr,
    recurring: z.boolean(),
    weighted_interval: z.enum(['seconds']).nullable(),
    rounding_function: z.enum(['ceil', 'floor', 'round']).nullable(),
    rounding_precision: nint,
    filters: z.array(z.object({ key: str, values: z.array(str) })),
    created_at: instant,
  }),
);

/** Lago TaxObject (api/routes/taxes.ts serializeTax): also what customers, plans and charges list as `taxes`. */
export const TaxObject = component(
  'TaxObject',
  z.object({ lago_id: str, name: str, code: str, rate: z.number(), description: nstr, applied_to_organization: z.boolean(), created_at: instant }),
);

/** Lago BaseAppliedTax (api/serializers/taxes.ts): lago_tax_id null for taxes that are not tax objects (rules, engines). */
const appliedTaxFields = {
  lago_id: str,
  lago_tax_id: nstr,
  tax_name: str,
  tax_code: str,
  tax_rate: z.number(),
  tax_description: nstr,
  amount_cents: int,
  amount_currency: currency,
  created_at: ninstant,
};

export const FeeAppliedTaxObject = component('FeeAppliedTaxObject', z.object({ ...appliedTaxFields, lago_fee_id: str }));

export const InvoiceAppliedTaxObject = component(
  'InvoiceAppliedTaxObject',
  z.object({ ...appliedTaxFields, lago_invoice_id: str, fees_amount_cents: int }),
);

/** Meterline extension on invoices: which automatic tax rule applied and why (api/serializers/taxes.ts lagoTaxDecision). */
export const TaxDecisionObject = component(
  'TaxDecisionObject',
  z.object({
    rule: z.enum([
      'eu_domestic',
      'eu_b2c',
      'eu_reverse_charge',
      'eu_b2b_unverified',
      'uk_domestic',
      'uk_b2c',
      'uk_reverse_charge',
      'uk_b2b_unverified',
      'us_sales_tax',
      'us_no_nexus',
      'configured_rate',
      'outside_scope',
    ]),
    tax_code: str,
    /** A percentage as a decimal string (the rule's rate, as stored). */
    tax_rate: decimal,
    legal_mention: nstr,
    explanation: str,
    seller_country: str,
    customer_country: str,
    customer_state: nstr,
    customer_type: z.enum(['company', 'individual']).nullable(),
    vat_number_status: z.enum(['valid', 'invalid', 'unknown', 'absent']),
    tax_point_date: date,
    rate_source: str,
  }),
);

/** A plan's charge (Lago ChargeObject), in a plan and alone (GET/POST/PUT/DELETE /plans/{code}/charges…). */
export const ChargeObject = component(
  'ChargeObject',
  z.object({
    lago_id: str,
    code: nstr,
    lago_billable_metric_id: str,
    billable_metric_code: str,
    invoice_display_name: nstr,
    created_at: instant,
    charge_model: z.enum(['standard', 'graduated', 'volume', 'package', 'percentage', 'graduated_percentage', 'dynamic']),
    pay_in_advance: z.boolean(),
    invoiceable: z.boolean(),
    regroup_paid_fees: nstr,
    prorated: z.boolean(),
    min_amount_cents: int,
    properties: json,
    filters: z.array(z.object({ invoice_display_name: nstr, properties: json, values: z.record(z.string(), z.array(str)) })),
    taxes: z.array(TaxObject),
  }),
);

/** A charge filter alone (Lago ChargeFilterFullObject: /plans/{code}/charges/{charge_code}/filters…). */
export const ChargeFilterObject = component(
  'ChargeFilterObject',
  z.object({ lago_id: str, charge_code: str, invoice_display_name: nstr, properties: json, values: z.record(z.string(), z.array(str)) }),
);

/** Lago MetadataObject: string (or null) values by key; null until set (api/routes/object-metadata.ts). */
export const MetadataObject = component('MetadataObject', z.record(z.string(), z.string().nullable()).nullable());

/** Lago FixedChargeObject (api/routes/fixed-charges.ts serializeFixedCharge), in a plan and alone. */
export const FixedChargeObject = component(
  'FixedChargeObject',
  z.object({
    lago_id: str,
    lago_add_on_id: str,
    invoice_display_name: str,
    add_on_code: str,
    created_at: instant,
    code: str,
    charge_model: z.enum(['standard', 'graduated', 'volume']),
    pay_in_advance: z.boolean(),
    prorated: z.boolean(),
    properties: json,
    units: z.number(),
    lago_parent_id: nstr,
    taxes: z.array(TaxObject),
  }),
);

export const PlanObject = component(
  'PlanObject',
  z.object({
    lago_id: str,
    name: str,
    invoice_display_name: nstr,
    description: nstr,
    created_at: instant,
    code: str,
    interval: z.enum(['weekly', 'monthly', 'quarterly', 'semiannual', 'yearly']),
    amount_cents: int,
    amount_currency: currency,
    trial_period: z.number(),
    pay_in_advance: z.boolean(),
    bill_charges_monthly: z.boolean().nullable(),
    minimum_commitment: z
      .object({ lago_id: str, plan_code: str, amount_cents: int, interval: str, created_at: instant, taxes: z.array(TaxObject) })
      .nullable(),
    charges: z.array(ChargeObject),
    fixed_charges: z.array(FixedChargeObject),
    taxes: z.array(TaxObject),
    usage_thresholds: z.array(
      z.object({ lago_id: str, threshold_display_name: nstr, amount_cents: int, recurring: z.boolean(), created_at: instant, updated_at: instant }),
    ),
    metadata: MetadataObject,
  }),
);

// ---- customers and subscriptions ----------------------------------------------------------------------------

export const CustomerObject = component(
  'CustomerObject',
  z.object({
    lago_id: str,
    sequential_id: int,
    slug: str,
    external_id: str,
    name: nstr,
    email: nstr,
    currency: currency.nullable(),
    timezone: nstr,
    applicable_timezone: str,
    country: nstr,
    tax_identification_number: nstr,
    customer_type: z.enum(['company', 'individual']).nullable(),
    state: nstr,
    zipcode: nstr,
    /** Lago: days from issuing to payment due; null = the organization's default. */
    net_payment_term: nint,
    /** Lago 1.51: the customer's billing entity. */
    billing_entity_code: str,
    account_type: z.enum(['customer', 'partner']),
    created_at: instant,
    updated_at: instant,
    /** Lago's billing_configuration; `invoice_grace_period` (days) when the customer overrides the organization's. */
    billing_configuration: z.looseObject({ invoice_grace_period: int.optional() }),
    metadata: z.array(json),
    taxes: z.array(TaxObject),
    integration_customers: z.array(json),
  }),
);

export const SubscriptionObject = component(
  'SubscriptionObject',
  z.object({
    lago_id: str,
    external_id: str,
    lago_customer_id: str,
    external_customer_id: str,
    /** Lago 1.51: the customer's billing entity. */
    billing_entity_code: str,
    name: nstr,
    plan_code: str,
    plan_amount_cents: int,
    plan_amount_currency: currency,
    status: z.enum(['active', 'pending', 'terminated', 'canceled']),
    billing_time: z.enum(['calendar', 'anniversary']),
    subscription_at: instant,
    started_at: ninstant,
    ending_at: ninstant,
    terminated_at: ninstant,
    canceled_at: ninstant,
    created_at: instant,
    previous_plan_code: nstr,
    next_plan_code: nstr,
    downgrade_plan_date: date.nullable(),
    trial_ended_at: ninstant,
    current_billing_period_started_at: ninstant,
    current_billing_period_ending_at: ninstant,
    on_termination_credit_note: z.enum(['credit', 'refund', 'skip']).nullable(),
    on_termination_invoice: z.enum(['generate', 'skip']),
  }),
);

// ---- events ------------------------------------------------------------------------------------------------

const EventProperties = json;

/** POST /events, /events/batch: the event as accepted (duplicate: nothing was written, lago_id/created_at null). */
export const EventObject = component(
  'EventObject',
  z.object({
    lago_id: nstr,
    transaction_id: str,
    lago_customer_id: nstr,
    code: str,
    timestamp: instant,
    precise_total_amount_cents: decimal.nullable(),
    properties: EventProperties,
    lago_subscription_id: nstr,
    external_subscription_id: str,
    created_at: ninstant,
    /** Meterline: true when this transaction_id was already stored (nothing was written). */
    duplicate: z.boolean(),
  }),
);

/** GET /events/:transaction_id: a stored event. */
export const StoredEventObject = component(
  'StoredEventObject',
  z.object({
    lago_id: str,
    transaction_id: str,
    lago_customer_id: nstr,
    code: str,
    timestamp: instant,
    precise_total_amount_cents: decimal.nullable(),
    properties: EventProperties,
    lago_subscription_id: nstr,
    external_subscription_id: str,
    created_at: instant,
  }),
);

export const EventErrorObject = component(
  'EventErrorObject',
  z.object({
    lago_id: str,
    transaction_id: nstr,
    external_subscription_id: nstr,
    code: nstr,
    /** As received (text), not normalized. */
    timestamp: nstr,
    /** As received: any JSON. */
    properties: z.unknown(),
    error_code: str,
    field: str,
    request_id: nstr,
    received_at: instant,
    last_received_at: instant,
    occurrences: int,
    resolved: z.boolean(),
  }),
);

export const ImportedUsageObject = component(
  'ImportedUsageObject',
  z.object({
    lago_id: nstr,
    transaction_id: str,
    external_subscription_id: str,
    lago_subscription_id: str,
    code: str,
    timestamp: instant,
    properties: EventProperties,
    value: decimal.nullable(),
    source: str,
    import_batch: nstr,
    already_billed: z.literal(true),
    imported_at: ninstant,
    duplicate: z.boolean(),
    duplicate_of: z.enum(['event', 'imported_usage']).nullable(),
  }),
);

// ---- alerts ------------------------------------------------------------------------------------------------

const AlertThreshold = z.object({ code: nstr, value: decimal, recurring: z.boolean() });
const AlertType = z.enum(['current_usage_amount', 'billable_metric_current_usage_amount', 'billable_metric_current_usage_units', 'lifetime_usage_amount']);

export const AlertObject = component(
  'AlertObject',
  z.object({
    lago_id: str,
    lago_organization_id: str,
    external_subscription_id: str,
    lago_wallet_id: nstr,
    wallet_code: nstr,
    billable_metric: BillableMetricObject.nullable(),
    alert_type: AlertType,
    code: str,
    name: nstr,
    direction: z.enum(['increasing', 'decreasing']),
    previous_value: z.number(),
    last_processed_at: ninstant,
    thresholds: z.array(AlertThreshold),
    created_at: instant,
  }),
);

export const TriggeredAlertObject = component(
  'TriggeredAlertObject',
  z.object({
    lago_id: str,
    lago_organization_id: str,
    lago_alert_id: str,
    lago_subscription_id: str,
    external_subscription_id: str,
    external_customer_id: str,
    billable_metric_code: nstr,
    alert_type: AlertType,
    alert_code: str,
    alert_name: nstr,
    current_value: decimal,
    triggered_at: instant,
    crossed_thresholds: z.array(AlertThreshold),
    threshold_value: decimal,
    period_start: instant,
    period_end: instant,
    webhook_status: str,
  }),
);

// ---- usage -------------------------------------------------------------------------------------------------

const UsageFilter = z.object({
  units: decimal,
  total_aggregated_units: decimal,
  amount_cents: int,
  events_count: int,
  invoice_display_name: nstr,
  values: z.record(z.string(), z.array(str)).nullable(),
});

export const CustomerUsageObject = component(
  'CustomerUsageObject',
  z.object({
    from_datetime: instant,
    /** Exclusive period end. */
    to_datetime: instant,
    issuing_date: date,
    lago_invoice_id: nstr,
    currency,
    amount_cents: int,
    taxes_amount_cents: int,
    total_amount_cents: int,
    charges_usage: z.array(
      z.object({
        units: decimal,
        total_aggregated_units: decimal,
        events_count: int,
        amount_cents: int,
        amount_currency: currency,
        charge: z.object({ lago_id: str, charge_model: str, invoice_display_name: nstr }),
        billable_metric: z.object({ lago_id: nstr, name: str, code: str, aggregation_type: str }),
        filters: z.array(UsageFilter),
        grouped_usage: z.array(
          z.object({
            amount_cents: int,
            events_count: int,
            units: decimal,
            total_aggregated_units: decimal,
            grouped_by: z.record(z.string(), z.unknown()),
            filters: z.array(UsageFilter),
          }),
        ),
      }),
    ),
  }),
);

/** Lago 1.51 CustomerProjectedUsageObject (api/routes/everyday-reads.ts; the projection rule: billing/projection.ts). */
const projected = { projected_units: decimal, projected_amount_cents: int };
const ProjectedUsageFilter = UsageFilter.extend(projected);

export const CustomerProjectedUsageObject = component(
  'CustomerProjectedUsageObject',
  z.object({
    from_datetime: instant,
    /** Exclusive period end. */
    to_datetime: instant,
    issuing_date: date,
    lago_invoice_id: nstr,
    currency,
    amount_cents: int,
    projected_amount_cents: int,
    taxes_amount_cents: int,
    total_amount_cents: int,
    charges_usage: z.array(
      z.object({
        units: decimal,
        projected_units: decimal,
        events_count: int,
        amount_cents: int,
        projected_amount_cents: int,
        amount_currency: currency,
        /** Lago 1.51 still requires its deprecated `groups` (filters replaced them): always empty. */
        groups: z.array(json),
        charge: z.object({ lago_id: str, charge_model: str, invoice_display_name: nstr }),
        billable_metric: z.object({ lago_id: nstr, name: str, code: str, aggregation_type: str }),
        filters: z.array(ProjectedUsageFilter),
        grouped_usage: z.array(
          z.object({
            amount_cents: int,
            events_count: int,
            units: decimal,
            total_aggregated_units: decimal,
            grouped_by: z.record(z.string(), z.unknown()),
            filters: z.array(ProjectedUsageFilter),
            ...projected,
          }),
        ),
      }),
    ),
  }),
);

export const PastUsagePeriodObject = component(
  'PastUsagePeriodObject',
  z.object({
    from_datetime: instant,
    to_datetime: instant,
    lago_subscription_id: str,
    external_subscription_id: str,
    metrics: z.array(
      z.object({
        billable_metric: z.object({ lago_id: str, code: str, name: str, aggregation_type: str }),
        events_count: int,
        units: decimal,
        imported: z.array(z.object({ source: str, events_count: int, units: decimal, already_billed: z.literal(true) })),
      }),
    ),
  }),
);

// ---- invoices ----------------------------------------------------------------------------------------------

export const FeeObject = component(
  'FeeObject',
  z.object({
    lago_id: nstr,
    lago_charge_id: nstr,
    lago_invoice_id: nstr,
    lago_subscription_id: nstr,
    lago_customer_id: nstr,
    external_customer_id: nstr,
    external_subscription_id: nstr,
    item: z.object({
      name: str,
      invoice_display_name: nstr,
      type: z.enum(['subscription', 'charge', 'commitment', 'credit', 'add_on', 'fixed_charge']),
      code: str,
      lago_item_id: nstr,
      item_type: z.enum(['Subscription', 'BillableMetric', 'AddOn', 'FixedCharge', 'WalletTransaction']),
      filters: z.record(z.string(), z.unknown()).nullable().optional(),
      filter_invoice_display_name: nstr.optional(),
      grouped_by: z.record(z.string(), z.unknown()).optional(),
    }),
    amount_cents: int,
    precise_amount: decimal,
    precise_total_amount: decimal,
    amount_currency: currency,
    taxes_amount_cents: int,
    taxes_precise_amount: decimal,
    taxes_rate: z.number(),
    applied_taxes: z.array(FeeAppliedTaxObject),
    total_amount_cents: int,
    total_amount_currency: currency,
    units: decimal,
    total_aggregated_units: decimal,
    precise_unit_amount: decimal,
    sub_total_excluding_taxes_amount_cents: int,
    sub_total_excluding_taxes_precise_amount_cents: decimal,
    events_count: int,
    pay_in_advance: z.boolean(),
    invoiceable: z.boolean(),
    from_date: ninstant,
    to_date: ninstant,
    payment_status: z.enum(['pending', 'succeeded', 'failed', 'refunded']),
    created_at: ninstant,
    succeeded_at: ninstant,
    failed_at: ninstant,
    refunded_at: ninstant,
    event_transaction_id: nstr,
    self_billed: z.boolean(),
    /** Meterline: on stored adjustment fees only (late events of an already finalized period); null on other stored fees. */
    adjustment: z
      .object({
        lago_adjusted_invoice_id: nstr,
        adjusted_fee_type: nstr,
        from_datetime: ninstant,
        to_datetime: ninstant,
        reason: z.literal('late_events'),
      })
      .nullable()
      .optional(),
  }),
);

/** Lago's ErrorDetailObject (failed13: a tax engine's refusal, error_code `tax_error`). */
export const ErrorDetailObject = component(
  'ErrorDetailObject',
  z.object({ lago_id: z.string().uuid().nullable(), error_code: z.string(), details: z.record(z.string(), z.string()) }),
);

export const InvoiceObject = component(
  'InvoiceObject',
  z.object({
    lago_id: nstr,
    billing_entity_code: nstr,
    number: nstr,
    issuing_date: date.nullable(),
    invoice_type: z.enum(['subscription', 'add_on', 'credit', 'one_off', 'advance_charges', 'progressive_billing']),
    // 'deleted': only the DELETE answer and its invoice.deleted webhook carry it (Lago 1.51).
    status: z.enum(['draft', 'finalized', 'voided', 'failed', 'pending', 'deleted']),
    payment_status: z.enum(['pending', 'succeeded', 'failed']),
    currency,
    fees_amount_cents: int,
    coupons_amount_cents: int,
    credit_notes_amount_cents: int,
    sub_total_excluding_taxes_amount_cents: int,
    taxes_amount_cents: int,
    sub_total_including_taxes_amount_cents: int,
    prepaid_credit_amount_cents: int,
    progressive_billing_credit_amount_cents: int,
    total_amount_cents: int,
    version_number: int,
    self_billed: z.boolean(),
    created_at: ninstant,
    updated_at: ninstant,
    applied_taxes: z.array(InvoiceAppliedTaxObject),
    /** Meterline: the automatic tax rule's decision; null when tax objects (or none) applied. */
    tax_decision: TaxDecisionObject.nullable(),
    metadata: z.array(json),
    customer: CustomerObject.nullable(),
    subscriptions: z.array(SubscriptionObject),
    fees: z.array(FeeObject),
    credits: z.array(json),
    // Meterline: invoicing in another currency than the plan's price currency (all null otherwise).
    price_currency: currency.nullable(),
    fx_rate: nstr,
    fx_rate_source: z.enum(['ecb', 'manual']).nullable(),
    fx_rate_date: date.nullable(),
    fx_status: z.enum(['converted', 'waiting_for_rate']).nullable(),
    fx_error: nstr,
    // Payments (Lago's invoice payment fields)
    total_paid_amount_cents: int,
    total_due_amount_cents: int,
    payment_due_date: date.nullable(),
    payment_overdue: z.boolean(),
    net_payment_term: int,
    // Lago's, once POST /invoices/:id/lose_dispute set it (ops13c).
    payment_dispute_lost_at: instant.optional(),
    // Meterline: where the invoice's PDF is served, once rendered (POST /invoices/:id/download).
    file_url: z.string().url().optional(),
    // Lago's InvoiceObjectExtended error_details (failed13): why the last finalization attempt failed.
    error_details: z.array(ErrorDetailObject).optional(),
  }),
);

export const ApiKeyObject = component(
  'ApiKeyObject',
  z.object({ lago_id: str, name: nstr, value: str.optional(), last_four: str, created_at: instant, revoked_at: ninstant }),
);

// ---- coupons, add-ons, credit notes (issue 12b) --------------------------------------------------------------

export const CouponObject = component(
  'CouponObject',
  z.object({
    lago_id: str, name: str, code: str, description: nstr, coupon_type: z.enum(['fixed_amount', 'percentage']), amount_cents: nint,
    amount_currency: currency.nullable(), percentage_rate: decimal.nullable(), reusable: z.boolean(), limited_plans: z.boolean(), plan_codes: z.array(str),
    limited_billable_metrics: z.boolean(), billable_metric_codes: z.array(str), frequency: z.enum(['once', 'recurring', 'forever']), frequency_duration: nint,
    expiration: z.enum(['no_expiration', 'time_limit']), expiration_at: ninstant, created_at: instant, terminated_at: ninstant,
  }),
);

export const AppliedCouponObject = component(
  'AppliedCouponObject',
  z.object({
    lago_id: str, lago_coupon_id: str, coupon_code: str, coupon_name: str, coupon_status: z.enum(['active', 'terminated']), coupon_deleted_at: ninstant,
    lago_customer_id: str, external_customer_id: str, status: z.enum(['active', 'terminated']), amount_cents: nint, amount_cents_remaining: nint,
    amount_currency: currency.nullable(), percentage_rate: decimal.nullable(), frequency: z.enum(['once', 'recurring', 'forever']), frequency_duration: nint,
    frequency_duration_remaining: nint, expiration_at: ninstant, created_at: instant, terminated_at: ninstant,
  }),
);

/** Lago's AppliedCouponObjectExtended (GET /applied_coupons): with what the coupon took from finalized invoices. */
export const AppliedCouponObjectExtended = component(
  'AppliedCouponObjectExtended',
  AppliedCouponObject.extend({
    credits: z.array(
      z.object({
        lago_id: str, amount_cents: int, amount_currency: currency, before_taxes: z.literal(true),
        item: z.object({ lago_item_id: str, type: z.literal('coupon'), code: str, name: str }),
        invoice: z.object({ lago_id: str, payment_status: z.enum(['pending', 'succeeded', 'failed']) }),
      }),
    ),
  }),
);

export const AddOnObject = component(
  'AddOnObject',
  z.object({ lago_id: str, name: str, invoice_display_name: nstr, code: str, amount_cents: int, amount_currency: currency, description: nstr, created_at: instant, taxes: z.array(TaxObject) }),
);

const CreditNoteAppliedTaxObject = component(
  'CreditNoteAppliedTaxObject',
  z.object({ lago_credit_note_id: nstr, lago_tax_id: nstr, tax_name: str, tax_code: str, tax_rate: z.number(), amount_cents: int, base_amount_cents: int }),
);

/** An issued credit note's applied tax (Lago's BaseAppliedTax fields: lago_id name-based, no description kept). */
const IssuedCreditNoteAppliedTaxObject = component(
  'IssuedCreditNoteAppliedTaxObject',
  CreditNoteAppliedTaxObject.extend({ lago_id: str, lago_credit_note_id: str, tax_description: z.null(), amount_currency: currency, created_at: instant }),
);

export const CreditNoteObject = component(
  'CreditNoteObject',
  z.object({
    lago_id: str, sequential_id: int, billing_entity_code: str, number: str, lago_invoice_id: str, invoice_number: str, issuing_date: date,
    credit_status: z.enum(['available', 'consumed', 'voided']).nullable(), refund_status: z.enum(['pending', 'succeeded', 'failed']).nullable(),
    reason: z.enum(['duplicated_charge', 'product_unsatisfactory', 'order_change', 'order_cancellation', 'fraudulent_charge', 'other']), description: nstr,
    currency, total_amount_cents: int, taxes_amount_cents: int, precise_taxes_amount_cents: decimal, taxes_rate: z.number(),
    sub_total_excluding_taxes_amount_cents: int, balance_amount_cents: int, credit_amount_cents: int, refund_amount_cents: int, offset_amount_cents: int,
    coupons_adjustment_amount_cents: int, created_at: instant, updated_at: instant, voided_at: ninstant, self_billed: z.boolean(),
    file_url: nstr,
    items: z.array(z.object({ lago_id: str, amount_cents: int, amount_currency: currency, lago_fee_id: str, fee: FeeObject })),
    applied_taxes: z.array(IssuedCreditNoteAppliedTaxObject),
    metadata: MetadataObject,
  }),
);

// ---- envelopes: one per route answer ------------------------------------------------------------------------

// ---- wallets (issue 12; api/serializers/wallet.ts) -----------------------------------------------------------

const metadataPairs = z.array(z.object({ key: str, value: str }));

/** Lago WalletRecurringTransactionRule. */
export const WalletRecurringTransactionRuleObject = component(
  'WalletRecurringTransactionRuleObject',
  z.object({
    lago_id: str,
    trigger: z.enum(['interval', 'threshold']),
    method: z.enum(['fixed', 'target']),
    interval: z.enum(['weekly', 'monthly', 'quarterly', 'semiannual', 'yearly']).nullable(),
    status: z.enum(['active', 'terminated']),
    threshold_credits: decimal.nullable(),
    paid_credits: decimal,
    granted_credits: decimal,
    grants_target_top_up: z.boolean().nullable(),
    started_at: ninstant,
    target_ongoing_balance: decimal.nullable(),
    created_at: instant,
    expiration_at: ninstant,
    invoice_requires_successful_payment: z.boolean(),
    transaction_metadata: metadataPairs,
    transaction_name: nstr,
    ignore_paid_top_up_limits: z.boolean(),
  }),
);

/** Lago WalletObject (metadata, payment method, custom sections: not implemented, left out). */
export const WalletObject = component(
  'WalletObject',
  z.object({
    lago_id: str,
    lago_customer_id: str,
    external_customer_id: str,
    /** Lago 1.51: the customer's billing entity. */
    billing_entity_code: str,
    status: z.enum(['active', 'terminated']),
    currency,
    name: nstr,
    code: nstr,
    priority: int,
    rate_amount: decimal,
    credits_balance: decimal,
    /** Lago 1.51's deprecated alias of credits_balance (still required by its schema). */
    balance: decimal,
    balance_cents: int,
    consumed_credits: decimal,
    created_at: instant,
    expiration_at: ninstant,
    last_balance_sync_at: ninstant,
    last_consumed_credit_at: ninstant,
    terminated_at: ninstant,
    invoice_requires_successful_payment: z.boolean(),
    applies_to: z.object({ fee_types: z.array(z.enum(['charge', 'subscription', 'commitment'])), billable_metric_codes: z.array(str) }),
    recurring_transaction_rules: z.array(WalletRecurringTransactionRuleObject),
    ongoing_balance_cents: int,
    ongoing_usage_balance_cents: int,
    credits_ongoing_balance: decimal,
    credits_ongoing_usage_balance: decimal,
    /** Meterline: when the ongoing balance was last confirmed from Postgres. */
    ongoing_balance_confirmed_at: ninstant,
    paid_top_up_min_amount_cents: nint,
    paid_top_up_max_amount_cents: nint,
    metadata: MetadataObject,
  }),
);

/** Lago WalletTransactionObject. */
export const WalletTransactionObject = component(
  'WalletTransactionObject',
  z.object({
    lago_id: str,
    lago_wallet_id: str,
    lago_invoice_id: nstr,
    lago_credit_note_id: nstr,
    lago_voided_invoice_id: nstr,
    status: z.enum(['pending', 'settled', 'failed']),
    source: z.enum(['manual', 'interval', 'threshold']),
    transaction_status: z.enum(['purchased', 'granted', 'voided', 'invoiced']),
    transaction_type: z.enum(['inbound', 'outbound']),
    amount: decimal,
    credit_amount: decimal,
    remaining_amount_cents: nint,
    remaining_credit_amount: decimal.nullable(),
    priority: int,
    invoice_requires_successful_payment: z.boolean(),
    settled_at: ninstant,
    failed_at: ninstant,
    created_at: instant,
    metadata: metadataPairs,
    name: nstr,
    payment_method: z.object({ payment_method_type: z.literal('provider') }),
  }),
);
/** A wallet top-up request recorded from the customer portal. */
const PortalTopUpRequestObject = z.object({
  lago_id: str,
  lago_wallet_id: nstr,
  amount_cents: int,
  currency,
  status: z.enum(['requested']),
  request_key: str,
  created_at: instant,
});

// ---- ops13b (issue 13): a fee estimate of a hypothetical event (api/routes/fee-estimates.ts) -------------------
/** An unsaved pay-in-advance fee: the fields of Lago's FeeObject and FeeEstimateObject, precise amounts as decimals. */
export const EstimatedFeeObject = component(
  'EstimatedFeeObject',
  z.object({
    lago_id: z.null(), lago_charge_id: str, lago_charge_filter_id: z.null(), lago_invoice_id: z.null(), lago_true_up_fee_id: z.null(), lago_true_up_parent_fee_id: z.null(),
    lago_subscription_id: str, lago_customer_id: str, external_customer_id: str, external_subscription_id: str,
    item: z.object({
      type: z.literal('charge'), code: str, name: str, invoice_display_name: str, filters: z.record(z.string(), z.array(z.string())).nullable(),
      filter_invoice_display_name: nstr, lago_item_id: str, item_type: z.literal('BillableMetric'), grouped_by: z.record(z.string(), z.string()),
    }),
    amount_cents: int, precise_amount: decimal, precise_total_amount: decimal, amount_currency: currency, taxes_amount_cents: int, taxes_precise_amount: decimal,
    taxes_rate: z.number(), total_amount_cents: int, total_amount_currency: currency, units: decimal, total_aggregated_units: decimal, precise_unit_amount: decimal,
    precise_coupons_amount_cents: decimal, sub_total_excluding_taxes_amount_cents: int, sub_total_excluding_taxes_precise_amount_cents: decimal, events_count: int,
    pay_in_advance: z.literal(true), invoiceable: z.boolean(), from_date: instant, to_date: instant, payment_status: z.literal('pending'),
    created_at: z.null(), succeeded_at: z.null(), failed_at: z.null(), refunded_at: z.null(), event_transaction_id: nstr,
  }),
);

export const responses = {
  BillableMetricResponse: z.object({ billable_metric: BillableMetricObject }),
  BillableMetricListResponse: z.object({ billable_metrics: z.array(BillableMetricObject), meta: PaginationMeta }),
  PlanResponse: z.object({ plan: PlanObject }),
  CustomerResponse: z.object({ customer: CustomerObject }),
  CustomerUsageResponse: z.object({ customer_usage: CustomerUsageObject }),
  PastUsageResponse: z.object({ usage_periods: z.array(PastUsagePeriodObject), meta: PaginationMeta }),
  SubscriptionResponse: z.object({ subscription: SubscriptionObject }),
  SubscriptionListResponse: z.object({ subscriptions: z.array(SubscriptionObject), meta: PaginationMeta }),
  AlertResponse: z.object({ alert: AlertObject }),
  AlertListResponse: z.object({ alerts: z.array(AlertObject), meta: PaginationMeta }),
  TriggeredAlertListResponse: z.object({ triggered_alerts: z.array(TriggeredAlertObject), meta: PaginationMeta }),
  EventResponse: z.object({ event: EventObject }),
  EventBatchResponse: z.object({ events: z.array(EventObject) }),
  StoredEventResponse: z.object({ event: StoredEventObject }),
  EventErrorListResponse: z.object({ event_errors: z.array(EventErrorObject), meta: PaginationMeta }),
  EventImportResponse: z.object({
    imported_usage: z.array(ImportedUsageObject),
    import: z.object({ source: str, import_batch: nstr, received_count: int, imported_count: int, duplicates_count: int }),
  }),
  InvoiceResponse: z.object({ invoice: InvoiceObject }),
  QuarantinedEventListResponse: z.object({
    quarantined_events: z.array(
      z.object({
        lago_id: str,
        transaction_id: str,
        external_subscription_id: nstr,
        lago_subscription_id: nstr,
        code: str,
        timestamp: instant,
        properties: json,
        precise_total_amount_cents: decimal.nullable(),
        field: nstr,
        reason_code: str,
        quarantined_at: instant,
      }),
    ),
    meta: PaginationMeta,
  }),
  ApiKeyResponse: z.object({ api_key: ApiKeyObject }),
  ApiKeyRotateResponse: z.object({ api_key: ApiKeyObject, revoked_api_key: ApiKeyObject }),
  ApiKeyListResponse: z.object({ api_keys: z.array(ApiKeyObject) }),
  PaymentResponse: z.object({
    payment: z.object({
      lago_id: str,
      lago_customer_id: str,
      external_customer_id: str,
      invoice_ids: z.array(str),
      invoice_numbers: z.array(str),
      lago_payable_id: str,
      payable_type: z.literal('Invoice'),
      amount_cents: int,
      amount_currency: currency,
      status: str,
      payment_status: z.enum(['pending', 'processing', 'succeeded', 'failed']),
      type: str,
      reference: nstr,
      payment_provider_code: nstr,
      payment_provider_type: nstr,
      external_payment_id: nstr,
      provider_payment_id: nstr,
      provider_customer_id: nstr,
      next_action: json,
      created_at: instant,
    }),
  }),
  CustomerCheckoutUrlResponse: z.object({
    customer: z.object({
      lago_customer_id: str,
      external_customer_id: str,
      payment_provider: z.literal('stripe'),
      payment_provider_code: nstr,
      checkout_url: z.string(),
    }),
  }),
  InvoicePaymentUrlResponse: z.object({
    invoice_payment_details: z.object({
      lago_customer_id: str,
      lago_invoice_id: str,
      external_customer_id: str,
      payment_provider: z.literal('stripe'),
      payment_url: z.string(),
    }),
  }),
  TaxResponse: z.object({ tax: TaxObject }),
  TaxListResponse: z.object({ taxes: z.array(TaxObject), meta: PaginationMeta }),
  TaxSettingsResponse: z.object({
    tax_settings: z.object({
      automatic_taxes_enabled: z.boolean(),
      seller_country: z.string().nullable(),
      /** State (or country) code → a percentage as a decimal string. */
      us_state_rates: z.record(z.string(), decimal),
      country_rates: z.record(z.string(), decimal),
      /** failed13: the external tax engine that taxes the organization's invoices at finalization (null: none). */
      tax_provider: z.object({ provider: z.literal('anrok'), code: z.string(), api_url: z.string(), api_key_last4: z.string() }).nullable(),
    }),
  }),
  OrganizationResponse: z.object({
    organization: z.object({
      lago_id: z.string(),
      name: z.string(),
      created_at: instant,
      timezone: z.string(),
      net_payment_term: int,
      billing_configuration: z.object({ invoice_grace_period: int }),
      document_numbering: z.enum(['per_customer', 'per_organization']),
      document_number_prefix: str,
      email_settings: z.array(str),
    }),
  }),
  FxSettingsResponse: z.object({ fx_settings: z.object({ invoicing_enabled: z.boolean() }) }),
  FxRateResponse: z.object({
    fx_rate: z.object({
      lago_id: z.string().optional(),
      base_currency: currency,
      quote_currency: currency,
      date,
      rate: z.string(),
      source: z.enum(['ecb', 'manual']),
    }),
  }),
  InvoiceListResponse: z.object({ invoices: z.array(InvoiceObject), meta: PaginationMeta }),
  PaymentProviderResponse: z.object({ payment_provider: PaymentProviderObject }),
  PaymentProviderListResponse: z.object({ payment_providers: z.array(PaymentProviderObject) }),
  DunningCampaignResponse: z.object({ dunning_campaign: DunningCampaignObject }),
  DunningCampaignListResponse: z.object({ dunning_campaigns: z.array(DunningCampaignObject) }),
  // Test clocks (Meterline sandbox, api/routes/test-clocks.ts serializeTestClock).
  TestClockResponse: z.object({ test_clock: TestClockObject }),
  TestClockListResponse: z.object({ test_clocks: z.array(TestClockObject), meta: PaginationMeta }),
  // wallets (issue 12)
  WalletResponse: z.object({ wallet: WalletObject }),
  WalletListResponse: z.object({ wallets: z.array(WalletObject), meta: PaginationMeta }),
  WalletTransactionsResponse: z.object({ wallet_transactions: z.array(WalletTransactionObject) }),
  WalletTransactionListResponse: z.object({ wallet_transactions: z.array(WalletTransactionObject), meta: PaginationMeta }),
  /** GET /wallet_transactions/:id: Lago 1.51's schema (and the official client) the bare object; lago-api answers
   * `{wallet_transaction: …}`: both, so either reader works. */
  WalletTransactionResponse: WalletTransactionObject.extend({ wallet_transaction: WalletTransactionObject }),
  // ---- customer portal and analytics (issue 13: api/portal/routes.ts, api/routes/analytics.ts) ----------------
  /** Lago getCustomerPortalUrl: a signed link, valid 1 hour. */
  CustomerPortalUrlResponse: z.object({ customer: z.object({ portal_url: z.string().regex(/^https?:\/\/[^#]+\/portal#v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/) }) }),
  /** Lago GrossRevenues. */
  GrossRevenuesResponse: z.object({ gross_revenues: z.array(z.object({ month: instant, amount_cents: int, currency, invoices_count: int })) }),
  /** Lago InvoicedUsages (code: the billable metric's code). */
  InvoicedUsagesResponse: z.object({ invoiced_usages: z.array(z.object({ month: instant, code: nstr, amount_cents: int, currency })) }),
  /** Lago Mrrs. */
  MrrsResponse: z.object({ mrrs: z.array(z.object({ month: instant, amount_cents: int, currency })) }),
  /** Lago OverdueBalances. */
  OverdueBalancesResponse: z.object({
    overdue_balances: z.array(z.object({ month: instant, amount_cents: int, currency, lago_invoice_ids: z.array(z.string().uuid()) })),
  }),
  // The portal page's own JSON API (outside /api/v1, authenticated by the link's token; not Lago's): validated by
  // test/api/portal.test.ts.
  PortalSummaryResponse: z.object({
    portal: z.object({
      customer: z.object({ external_id: str, name: nstr, email: nstr, currency: currency.nullable() }),
      expires_at: instant,
      subscriptions: z.array(z.object({ external_id: str, name: nstr, plan_code: str, current_usage: CustomerUsageObject })),
      wallets: z.object({
        /** false: no wallets table (the wallets module is not installed); the page shows "no wallet yet". */
        available: z.boolean(),
        wallets: z.array(z.object({ lago_id: str, name: nstr, currency, status: nstr, balance_cents: int, credits_balance: decimal.nullable() })),
      }),
      top_up_requests: z.array(PortalTopUpRequestObject),
    }),
  }),
  PortalInvoiceListResponse: z.object({
    invoices: z.array(
      z.object({
        lago_id: str,
        number: nstr,
        issuing_date: date.nullable(),
        invoice_type: str,
        status: z.enum(['finalized', 'voided']),
        payment_status: z.enum(['pending', 'succeeded', 'failed']),
        payment_overdue: z.boolean(),
        currency,
        total_amount_cents: int,
        total_due_amount_cents: int,
        from_datetime: instant,
        to_datetime: instant,
        file_path: z.string().regex(/^\/portal\/api\/invoices\/[0-9a-f-]{36}\/file$/),
      }),
    ),
  }),
  PortalTopUpRequestResponse: z.object({ top_up_request: PortalTopUpRequestObject }),
  // Lago's everyday API (api/routes/catalog-edits.ts, api/routes/everyday-reads.ts).
  PlanListResponse: z.object({ plans: z.array(PlanObject), meta: PaginationMeta }),
  ChargeResponse: z.object({ charge: ChargeObject }),
  ChargeListResponse: z.object({ charges: z.array(ChargeObject), meta: PaginationMeta }),
  ChargeFilterResponse: z.object({ filter: ChargeFilterObject }),
  ChargeFilterListResponse: z.object({ filters: z.array(ChargeFilterObject), meta: PaginationMeta }),
  // fixed13 (issues 11 + 13): /plans/{code}/fixed_charges…, /subscriptions/{external_id}/fixed_charges…
  FixedChargeResponse: z.object({ fixed_charge: FixedChargeObject }),
  FixedChargeListResponse: z.object({ fixed_charges: z.array(FixedChargeObject), meta: PaginationMeta }),
  CustomerListResponse: z.object({ customers: z.array(CustomerObject), meta: PaginationMeta }),
  StoredEventListResponse: z.object({ events: z.array(StoredEventObject), meta: PaginationMeta }),
  FeeResponse: z.object({ fee: FeeObject }),
  FeeListResponse: z.object({ fees: z.array(FeeObject), meta: PaginationMeta }),
  CustomerProjectedUsageResponse: z.object({ customer_projected_usage: CustomerProjectedUsageObject }),
  CouponResponse: z.object({ coupon: CouponObject }),
  CouponListResponse: z.object({ coupons: z.array(CouponObject), meta: PaginationMeta }),
  AppliedCouponResponse: z.object({ applied_coupon: AppliedCouponObject }),
  AppliedCouponListResponse: z.object({ applied_coupons: z.array(AppliedCouponObjectExtended), meta: PaginationMeta }),
  AddOnResponse: z.object({ add_on: AddOnObject }),
  AddOnListResponse: z.object({ add_ons: z.array(AddOnObject), meta: PaginationMeta }),
  CreditNoteResponse: z.object({ credit_note: CreditNoteObject }),
  CreditNoteListResponse: z.object({ credit_notes: z.array(CreditNoteObject), meta: PaginationMeta }),
  CreditNoteEstimateResponse: z.object({
    estimated_credit_note: z.object({
      lago_invoice_id: str, invoice_number: str, currency, taxes_amount_cents: int, precise_taxes_amount_cents: z.number(), taxes_rate: z.number(),
      sub_total_excluding_taxes_amount_cents: int, max_creditable_amount_cents: int, max_refundable_amount_cents: int, max_offsettable_amount_cents: int,
      coupons_adjustment_amount_cents: int, precise_coupons_adjustment_amount_cents: z.number(),
      items: z.array(z.object({ lago_fee_id: str, amount_cents: int })), applied_taxes: z.array(CreditNoteAppliedTaxObject),
    }),
  }),
  // ops13b (issue 13): alert edits by code, metadata endpoints.
  AlertDeletedListResponse: z.object({ alerts: z.array(AlertObject) }),
  MetadataResponse: z.object({ metadata: MetadataObject }),
  EstimatedFeeListResponse: z.object({ fees: z.array(EstimatedFeeObject) }),
  InvoiceCollectionListResponse: z.object({
    invoice_collections: z.array(z.object({ month: instant, payment_status: z.enum(['pending', 'succeeded', 'failed']), invoices_count: int, amount_cents: int, currency })),
  }),
} as const;

export type ResponseName = keyof typeof responses;

for (const [id, schema] of Object.entries(responses)) component(id, schema);

/** `components.schemas` of the OpenAPI document for every registered response schema (refs between them). */
export function responseComponents(): Record<string, Record<string, unknown>> {
  const out = z.toJSONSchema(responseRegistry, {
    io: 'output',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Record<string, unknown>> };
  for (const s of Object.values(out.schemas)) {
    delete s.$schema;
    delete s.$id; // a `#/...` $id is not a valid base URI; the component's key names it
  }
  return out.schemas;
}

// ---- Lago's customer-and-money operations (issue 13, ops13a: api/routes/customer-money.ts) -------------------
// Registered after `responses` so they reuse its objects (the payment is POST /payments' PaymentObject).
const PaymentObject = responses.PaymentResponse.shape.payment;
const PaymentReceiptObject = z.object({ lago_id: str, number: z.string().regex(/^[A-Z0-9]+-RCPT-\d{6,}$/), created_at: instant, payment: PaymentObject });
const PaymentRequestObject = z.object({
  lago_id: str,
  email: str,
  amount_cents: int,
  amount_currency: currency,
  payment_status: z.enum(['pending', 'succeeded', 'failed']),
  created_at: instant,
  customer: CustomerObject,
  invoices: z.array(InvoiceObject),
});
export const customerMoneyResponses = {
  PaymentListResponse: z.object({ payments: z.array(PaymentObject), meta: PaginationMeta }),
  PaymentReceiptResponse: z.object({ payment_receipt: PaymentReceiptObject }),
  PaymentReceiptListResponse: z.object({ payment_receipts: z.array(PaymentReceiptObject), meta: PaginationMeta }),
  PaymentRequestResponse: z.object({ payment_request: PaymentRequestObject }),
  PaymentRequestListResponse: z.object({ payment_requests: z.array(PaymentRequestObject), meta: PaginationMeta }),
  WalletTransactionPaymentUrlResponse: z.object({
    wallet_transaction_payment_details: z.object({ lago_customer_id: str, lago_wallet_transaction_id: str, external_customer_id: str, payment_provider: z.literal('stripe'), payment_url: z.string() }),
  }),
} as const;
for (const [id, schema] of Object.entries(customerMoneyResponses)) component(id, schema);

// ---- ops13c (issue 13): lifetime usage (api/routes/lifetime-usage.ts). The subscription charge routes answer
// ChargeResponse / ChargeListResponse / ChargeFilterResponse / ChargeFilterListResponse, lose_dispute InvoiceResponse.
export const ops13cResponses = {
  LifetimeUsageResponse: z.object({
    lifetime_usage: z.object({
      lago_id: str,
      lago_subscription_id: str,
      external_subscription_id: str,
      external_historical_usage_amount_cents: int,
      invoiced_usage_amount_cents: int,
      current_usage_amount_cents: int,
      from_datetime: ninstant,
      to_datetime: instant,
      usage_thresholds: z.array(z.object({ amount_cents: int, completion_ratio: z.number().min(0).max(1), reached_at: ninstant })),
    }),
  }),
} as const;
for (const [id, schema] of Object.entries(ops13cResponses)) component(id, schema);
// ---- ops13d (issue 13): wallet alerts, wallet transaction consumptions / fundings, payment methods,
// analytics/usage, evaluate_expression (api/routes/wallet-alerts.ts, payment-methods.ts, usage-tools.ts). Wallet
// metadata by customer and code answers MetadataResponse.
export const WalletAlertObject = component(
  'WalletAlertObject',
  z.object({
    lago_id: str,
    lago_organization_id: str,
    external_subscription_id: z.null(),
    lago_wallet_id: str,
    wallet_code: nstr,
    billable_metric: z.null(),
    alert_type: z.enum(['wallet_balance_amount', 'wallet_credits_balance', 'wallet_ongoing_balance_amount', 'wallet_credits_ongoing_balance']),
    code: str,
    name: nstr,
    direction: z.literal('decreasing'),
    previous_value: z.number(),
    last_processed_at: ninstant,
    thresholds: z.array(z.object({ code: nstr, value: decimal, recurring: z.boolean() })),
    created_at: instant,
  }),
);
const WalletTracePairFields = { lago_id: str, amount_cents: int, credit_amount: decimal, created_at: instant, wallet_transaction: WalletTransactionObject };
export const PaymentMethodObject = component(
  'PaymentMethodObject',
  z.object({
    lago_id: str,
    is_default: z.boolean(),
    payment_provider_code: nstr,
    payment_provider_name: nstr,
    payment_provider_type: z.literal('stripe'),
    provider_method_id: str,
    created_at: instant,
  }),
);
export const ops13dResponses = {
  WalletAlertResponse: z.object({ alert: WalletAlertObject }),
  WalletAlertListResponse: z.object({ alerts: z.array(WalletAlertObject), meta: PaginationMeta }),
  WalletAlertsResponse: z.object({ alerts: z.array(WalletAlertObject) }),
  /** POST …/alerts: {alert} for one alert, {alerts} for a batch. */
  WalletAlertCreateResponse: z.union([z.object({ alert: WalletAlertObject }), z.object({ alerts: z.array(WalletAlertObject) })]),
  WalletTransactionConsumptionListResponse: z.object({ wallet_transaction_consumptions: z.array(z.object(WalletTracePairFields)), meta: PaginationMeta }),
  WalletTransactionFundingListResponse: z.object({ wallet_transaction_fundings: z.array(z.object(WalletTracePairFields)), meta: PaginationMeta }),
  PaymentMethodResponse: z.object({ payment_method: PaymentMethodObject }),
  PaymentMethodListResponse: z.object({ payment_methods: z.array(PaymentMethodObject), meta: PaginationMeta }),
  UsageAnalyticsResponse: z.object({
    usages: z.array(
      z.object({
        organization_id: str,
        start_of_period_dt: date,
        end_of_period_dt: date,
        amount_currency: currency,
        amount_cents: int,
        billable_metric_code: str,
        units: decimal,
        is_billable_metric_deleted: z.boolean(),
      }),
    ),
  }),
  EvaluateExpressionResponse: z.object({ expression_result: z.object({ value: str }) }),
} as const;
for (const [id, schema] of Object.entries(ops13dResponses)) component(id, schema);
// ---- ops13f (issue 13): features and entitlements (api/routes/features.ts, api/routes/entitlements.ts), Lago
// 1.51's FeatureObject, PlanEntitlementObject, SubscriptionEntitlementObject.
const privilegeValue = z.union([int, z.boolean(), str]);
const FeaturePrivilegeFields = {
  code: str,
  name: nstr,
  value_type: z.enum(['integer', 'boolean', 'string', 'select']),
  /** `{select_options}` on a select privilege, `{}` otherwise. */
  config: z.object({ select_options: z.array(str).optional() }),
};
export const FeatureObject = component(
  'FeatureObject',
  z.object({ code: str, name: nstr, description: nstr, privileges: z.array(z.object(FeaturePrivilegeFields)), created_at: instant }),
);
export const PlanEntitlementObject = component(
  'PlanEntitlementObject',
  z.object({ code: str, name: nstr, description: nstr, privileges: z.array(z.object({ ...FeaturePrivilegeFields, value: privilegeValue })) }),
);
export const SubscriptionEntitlementObject = component(
  'SubscriptionEntitlementObject',
  z.object({
    code: str,
    name: nstr,
    description: nstr,
    /** plan_value null: a privilege only the subscription's override sets; override_value null: not overridden. */
    privileges: z.array(z.object({ ...FeaturePrivilegeFields, value: privilegeValue, plan_value: privilegeValue.nullable(), override_value: privilegeValue.nullable() })),
    overrides: z.record(str, privilegeValue),
  }),
);
export const ops13fResponses = {
  FeatureResponse: z.object({ feature: FeatureObject }),
  FeatureListResponse: z.object({ features: z.array(FeatureObject), meta: PaginationMeta }),
  PlanEntitlementResponse: z.object({ entitlement: PlanEntitlementObject }),
  PlanEntitlementListResponse: z.object({ entitlements: z.array(PlanEntitlementObject) }),
  SubscriptionEntitlementResponse: z.object({ entitlement: SubscriptionEntitlementObject }),
  SubscriptionEntitlementListResponse: z.object({ entitlements: z.array(SubscriptionEntitlementObject) }),
} as const;
for (const [id, schema] of Object.entries(ops13fResponses)) component(id, schema);

// ---- ops13g (issue 13): billing entities, activity logs, API logs (api/routes/billing-entities.ts, audit-logs.ts).
const billingEntityFields = {
  lago_id: str,
  code: str,
  name: str,
  default_currency: currency,
  document_locale: str,
  document_numbering: z.enum(['per_customer', 'per_billing_entity']),
  document_number_prefix: nstr,
  finalize_zero_amount_invoice: z.boolean(),
  invoice_footer: nstr,
  invoice_grace_period: int,
  subscription_invoice_issuing_date_anchor: z.enum(['current_period_end', 'next_period_start']),
  subscription_invoice_issuing_date_adjustment: z.enum(['align_with_finalization_date', 'keep_anchor']),
  is_default: z.boolean(),
  net_payment_term: int,
  address_line1: nstr,
  address_line2: nstr,
  city: nstr,
  state: nstr,
  country: nstr,
  zipcode: nstr,
  email: nstr,
  legal_name: nstr,
  legal_number: nstr,
  tax_identification_number: nstr,
  timezone: str,
  email_settings: z.array(z.enum(['invoice.finalized', 'credit_note.created', 'payment_receipt.created'])),
  eu_tax_management: z.boolean(),
  logo_url: nstr,
  created_at: instant,
  updated_at: instant,
};
export const BillingEntityObject = component('BillingEntityObject', z.object(billingEntityFields));
const billingEntityExtendedFields = { ...billingEntityFields, taxes: z.array(TaxObject), selected_invoice_custom_sections: z.array(z.never()) };
export const BillingEntityObjectExtended = component('BillingEntityObjectExtended', z.object(billingEntityExtendedFields));
export const ApiLogObject = component(
  'ApiLogObject',
  z.object({
    request_id: str,
    api_version: str,
    client: str,
    http_method: z.enum(['post', 'put', 'delete']),
    http_status: int,
    request_origin: str,
    request_path: str,
    /** JSON text (Lago's schema: a string), secrets redacted. */
    request_body: str,
    request_response: str.optional(),
    api_key_id: nstr,
    logged_at: instant,
    created_at: instant,
  }),
);
export const ActivityLogObject = component(
  'ActivityLogObject',
  z.object({
    activity_id: str,
    user_email: z.null(),
    activity_type: str,
    activity_source: z.enum(['api', 'front', 'system']),
    activity_object: json.nullable(),
    activity_object_changes: json.nullable(),
    external_customer_id: nstr,
    external_subscription_id: nstr,
    resource_id: str,
    resource_type: str,
    organization_id: str,
    api_key_id: nstr,
    logged_at: instant,
    created_at: instant,
  }),
);
export const ops13gResponses = {
  ActivityLogListResponse: z.object({ activity_logs: z.array(ActivityLogObject), meta: PaginationMeta }),
  ActivityLogResponse: z.object({ activity_log: ActivityLogObject }),
  ApiLogListResponse: z.object({ api_logs: z.array(ApiLogObject), meta: PaginationMeta }),
  ApiLogResponse: z.object({ api_log: ApiLogObject }),
  BillingEntityListResponse: z.object({ billing_entities: z.array(BillingEntityObject) }),
  BillingEntityResponse: z.object({ billing_entity: BillingEntityObjectExtended }),
  /** POST: Lago's documented bare BillingEntityObject and lago-api's `billing_entity` envelope, both. */
  BillingEntityCreateResponse: z.object({ ...billingEntityFields, billing_entity: BillingEntityObject }),
  /** PUT: the bare BillingEntityObjectExtended (Lago's schema) and the `billing_entity` envelope (lago-api). */
  BillingEntityUpdateResponse: z.object({ ...billingEntityExtendedFields, billing_entity: BillingEntityObjectExtended }),
} as const;
for (const [id, schema] of Object.entries(ops13gResponses)) component(id, schema);
