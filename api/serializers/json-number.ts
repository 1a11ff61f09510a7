// Decimal strings shown as JSON numbers where Lago's OpenAPI types a value `number` (precise amounts of a credit
// note estimate, an alert's previous_value). Display only: the stored value stays the exact decimal string, and
// nothing reads these numbers back for arithmetic. A decimal with at most 15 significant digits survives the
// conversion exactly (JSON prints the shortest form that reads back as the same double); a longer one is
// shown rounded to the nearest double (the exact value stays readable where Meterline stores it: invoices, fees).
import { toDecimalString } from '../../billing/decimal-string';

export function decimalAsJsonNumber(value: string): number {
  const canonical = toDecimalString(value);
  if (canonical === null) throw new Error(`not a decimal: ${value}`);
  return Number(canonical);
}
