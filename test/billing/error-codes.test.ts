import type { Response } from 'express';
import { errorMiddleware, type Logger } from '../../api/errors';
import { ALL_ERROR_CODES, BillingError, ERROR_CODES, errorClassOf, httpStatusOf } from '../../billing';
import { NON_RETRYABLE_ERROR_TYPES } from '../../workflows/activity-options';

function answer(err: unknown): { status: number; body: unknown } {
  const out = { status: 0, body: undefined as unknown };
  const res = {
    headersSent: false,
    locals: {},
    status(s: number) {
      out.status = s;
      return this;
    },
    json(b: unknown) {
      out.body = b;
      return this;
    },
  } as unknown as Response;
  const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };
  errorMiddleware(silent)(err, { method: 'GET', originalUrl: '/x' } as never, res, () => {});
  return out;
}

describe('error codes: one module decides each code and its HTTP class', () => {
  it('constants are the code strings themselves (clients depend on them)', () => {
    expect(ERROR_CODES.plan_not_found).toBe('plan_not_found');
    expect(ERROR_CODES.invalid_event_value).toBe('invalid_event_value');
    expect(ALL_ERROR_CODES).toHaveLength(new Set(ALL_ERROR_CODES).size);
  });

  it('not found → 404, conflict → 409, invalid → 422', () => {
    expect([errorClassOf('plan_not_found'), httpStatusOf('plan_not_found')]).toEqual(['not_found', 404]);
    expect([errorClassOf('invoice_finalized'), httpStatusOf('invoice_finalized')]).toEqual(['conflict', 409]);
    expect([errorClassOf('currency_mismatch'), httpStatusOf('currency_mismatch')]).toEqual(['invalid', 422]);
    for (const code of ALL_ERROR_CODES) expect(httpStatusOf(code)).toBe(code.endsWith('_not_found') ? 404 : ['invoice_conflict', 'invoice_finalized', 'coupon_already_applied', 'credit_note_not_voidable'].includes(code) ? 409 : 422);
  });

  it('the API answers a BillingError plan_not_found with 404, a conflict with 409, an invalid code with 422 and its field', () => {
    expect(answer(new BillingError('plan_not_found', 'Plan p not found', 'plan_id'))).toEqual({
      status: 404,
      body: { status: 404, error: 'Not Found', code: 'plan_not_found' },
    });
    expect(answer(new BillingError('invoice_finalized', 'Invoice i is finalized'))).toEqual({
      status: 409,
      body: { status: 409, error: 'Conflict', code: 'invoice_finalized' },
    });
    expect(answer(new BillingError('currency_mismatch', 'EUR vs USD', 'currency'))).toEqual({
      status: 422,
      body: { status: 422, error: 'Unprocessable Entity', code: 'validation_errors', error_details: { currency: ['currency_mismatch'] } },
    });
  });

  it("the workflows' non-retryable list holds every code and the former hand-kept entries", () => {
    for (const code of ALL_ERROR_CODES) expect(NON_RETRYABLE_ERROR_TYPES).toContain(code);
    for (const t of ['BillingError', 'PlanValidationError', 'invalid_plan', 'invalid_period', 'subscription_not_found', 'invoice_not_found']) {
      expect(NON_RETRYABLE_ERROR_TYPES).toContain(t);
    }
  });
});
