// A complete invoice document model for renderer tests: FX (USD plan, EUR invoice), a discount, a tax line
// and the reverse-charge mention, so every section of the PDF is exercised.
import type { InvoiceDocumentModel } from '../../documents/invoice-model';

export function sampleModel(over: Partial<InvoiceDocumentModel> = {}): InvoiceDocumentModel {
  return {
    number: 'ACM-202612-000042',
    issuingDate: '2026-12-01',
    invoiceType: 'subscription',
    currency: 'EUR',
    periodFrom: '2026-11-01',
    periodTo: '2026-11-30',
    seller: { name: 'Acme AI GmbH', lines: ['Organization acme'] },
    buyer: { name: 'Globex Corporation', lines: ['Customer id: globex', 'billing@globex.example', 'Country: FR', 'VAT: FR40303265045'] },
    lines: [
      { description: 'AI Pro', fromDate: '2026-11-01', toDate: '2026-11-30', units: '1', unitAmount: '18.9358076122', amountCents: 1894 },
      { description: 'Tokens', fromDate: '2026-11-01', toDate: '2026-11-30', units: '123456789', unitAmount: '0.00000189358076122', amountCents: 23378 },
      { description: 'GPU seconds • H100', fromDate: '2026-11-01', toDate: '2026-11-30', units: '10.5', unitAmount: '0.0284037114183', amountCents: 30 },
    ],
    discounts: [],
    feesAmountCents: 25302,
    taxes: [{ name: 'VAT reverse charge', rate: '0', amountCents: 0 }],
    taxesAmountCents: 0,
    totalAmountCents: 25302,
    reverseChargeMention: 'Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC).',
    fx: { priceCurrency: 'USD', rate: '0.94679038061', source: 'ecb', rateDate: '2026-11-27' },
    ...over,
  };
}
