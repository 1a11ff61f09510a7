// Which taxes apply to a fee: Lago's precedence (lago-api app/services/fees/apply_taxes_service.rb
// `applicable_taxes`): explicit tax codes > the add-on's taxes > the charge's taxes > the plan's taxes
// (subscription, charge and commitment fees) > the customer's taxes > [Meterline: the automatic rules' tax]
// > the organization's default taxes.
// A level applies only when it has at least one tax; an empty level falls through to the next.
import type { Tax, TaxableFee, TaxAssignments, TaxSource } from './types';

export interface ApplicableTaxes {
  source: TaxSource;
  taxes: Tax[];
}

/** Fee kinds that belong to a plan, so the plan's taxes apply to them (Lago: charge, subscription, commitment fees). */
function isPlanFee(fee: TaxableFee): boolean {
  return fee.kind !== 'add_on';
}

function nonEmpty(taxes: Tax[] | undefined): taxes is Tax[] {
  return taxes !== undefined && taxes.length > 0;
}

export function applicableTaxes(fee: TaxableFee, a: TaxAssignments): ApplicableTaxes {
  if (a.explicit !== undefined) return { source: 'explicit', taxes: a.explicit };
  const addOn = fee.addOnId ? a.addOnTaxes?.[fee.addOnId] : undefined;
  if (fee.kind === 'add_on' && nonEmpty(addOn)) return { source: 'add_on', taxes: addOn };
  // Charge fees, their true-up (charge minimum) and their late-event adjustments carry the charge's taxes.
  const charge = fee.chargeId ? a.chargeTaxes?.[fee.chargeId] : undefined;
  if (fee.chargeId && nonEmpty(charge)) return { source: 'charge', taxes: charge };
  if (isPlanFee(fee) && nonEmpty(a.planTaxes)) return { source: 'plan', taxes: a.planTaxes };
  if (nonEmpty(a.customerTaxes)) return { source: 'customer', taxes: a.customerTaxes };
  // Automatic rules stand in for the customer's own taxes and, when the organization enables them, for its default.
  if (nonEmpty(a.automatic)) return { source: 'rule', taxes: a.automatic };
  if (nonEmpty(a.organizationTaxes)) return { source: 'organization', taxes: a.organizationTaxes };
  return { source: 'none', taxes: [] };
}
