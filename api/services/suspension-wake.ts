// Dunning consequence `suspend_subscription` (issue 10): once an invoice that suspended a subscription is paid,
// its subscription workflow is signalled to re-read the suspension and run the held period close. Postgres is the
// source of truth: a failed signal is logged, and the workflow's own recheck (workflows/suspension.ts) resumes it.
import { WorkflowNotFoundError } from '@temporalio/client';
import { subscriptionsSuspendedByInvoice } from '../../db/repositories/subscription-suspensions';
import { subscriptionSuspensionSignal, subscriptionWorkflowId } from '../../workflows/messages';
import type { RouteContext } from '../context';

export async function wakeSuspendedSubscriptions(ctx: RouteContext, organizationId: string, invoiceId: string): Promise<void> {
  for (const subscriptionId of await subscriptionsSuspendedByInvoice(ctx.db, organizationId, invoiceId)) {
    try {
      await ctx.temporal.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).signal(subscriptionSuspensionSignal, { reason: 'invoice_paid', invoiceId });
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) ctx.logger.warn('Waking a suspended subscription after its invoice was paid failed (it rechecks on its own)', { subscriptionId, invoiceId, error: String(err) });
    }
  }
}
