// Moved: the one decimal-string canonicalizer and exact decimal-string arithmetic live in
// billing/decimal-string.ts. This path re-exports them for the files that still import it.
export { addDecimal, canonicalDecimal, shiftDecimal, toDecimalString } from '../../billing/decimal-string';
