// The e2e system with the real Stripe adapter on the stateful Stripe fake and the organization's Stripe
// configuration stored (test/e2e/termination-refund.test.ts, test/e2e/fixed-charge-units.test.ts).
import { StripePaymentProvider } from '../../adapters/stripe/provider';
import { upsertProviderConfig } from '../../db/repositories/payments';
import { startSystem, type System } from '../e2e/harness';
import type { FakeStripe } from './fake-stripe';

export async function startSystemWithStripeFake(fake: FakeStripe): Promise<System> {
  const sys = await startSystem('dev-server', { paymentProviderFor: () => new StripePaymentProvider(fake.client()) });
  const org = await sys.database.db('organizations').first('id');
  await upsertProviderConfig(sys.database.db, { organizationId: org.id, code: 'stripe-test', secretKey: 'sk_test_fake', webhookSecret: 'whsec_test', successRedirectUrl: 'https://example.test/thanks' });
  return sys;
}
