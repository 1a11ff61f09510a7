// What an invoice document shows, independent of how it is rendered (documents/invoice-pdf.ts) and of where
// the values come from (documents/invoice-document.ts builds it from the stored invoice). Amounts are integer
// minor units of `currency`; unit prices decimal strings; dates YYYY-MM-DD (the customer's local dates).

export interface PartyBlock {
  name: string;
  /** Further lines under the name (address, e-mail, tax id…), already formatted. */
  lines: string[];
}

export interface DocumentLine {
  description: string;
  /** Local dates of the line's period [from, to] (to is the last day included). */
  fromDate: string;
  toDate: string;
  units: string;
  /** Unit price in the invoice currency (decimal string, unrounded). */
  unitAmount: string;
  amountCents: number;
}

export interface DocumentTax {
  name: string;
  /** Percentage as a decimal string ("20", "0"). */
  rate: string;
  /** The fees' amount the tax applies to (its base), when known. */
  baseAmountCents?: number;
  amountCents: number;
}

export interface DocumentFx {
  priceCurrency: string;
  rate: string;
  source: string;
  rateDate: string;
}

export interface InvoiceDocumentModel {
  number: string;
  issuingDate: string;
  invoiceType: string;
  currency: string;
  periodFrom: string;
  periodTo: string;
  seller: PartyBlock;
  buyer: PartyBlock;
  lines: DocumentLine[];
  discounts: { description: string; amountCents: number }[];
  feesAmountCents: number;
  taxes: DocumentTax[];
  taxesAmountCents: number;
  totalAmountCents: number;
  /** The legal mention when the reverse charge applies (e.g. EU B2B across borders), else null. */
  reverseChargeMention: string | null;
  fx: DocumentFx | null;
  /** The issuing entity's invoice_footer (null: none). */
  footer?: string | null;
}
