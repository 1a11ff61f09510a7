// Typed errors thrown by the pure billing engine. `code` is stable and machine-readable, one of
// billing/error-codes.ts (where its class — not found / conflict / invalid — and so its HTTP status is decided);
// `field` uses Lago's snake_case request names (e.g. `charges[0].properties.amount`).
import type { ErrorCode } from './error-codes';

export class BillingError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;

  constructor(code: ErrorCode, message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BillingError';
    this.code = code;
    if (field !== undefined) this.field = field;
  }
}

export interface PlanValidationIssue {
  field: string;
  code: string;
  message: string;
}

export class PlanValidationError extends BillingError {
  readonly issues: PlanValidationIssue[];

  constructor(issues: PlanValidationIssue[]) {
    const first = issues[0];
    super(
      'invalid_plan',
      `Invalid plan: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
      first?.field,
    );
    this.name = 'PlanValidationError';
    this.issues = issues;
  }
}
