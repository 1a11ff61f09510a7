// Replays histories recorded from real runs (test/workflows/record-histories.ts) against the CURRENT workflow
// code: a change that would break running subscriptions or invoices (a new activity call, a reordered
// command, a removed timer) fails the build here instead of in production. Version such changes with
// `patched()` instead of re-recording the histories.
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflows } from './fakes';

const DIR = path.join(__dirname, 'histories');
const FILES = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

let workflowBundle: WorkflowBundleWithSourceMap;
beforeAll(async () => {
  workflowBundle = await bundleWorkflows();
});

function loadHistory(file: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
}

test('the recorded histories cover a closed-and-continued subscription, a close that failed then was retried, a terminated subscription, a subscription with usage thresholds, a pay-in-advance subscription (start invoice, per-event billing, termination without invoice), an upgrade (plan-changes-v1), an upgrade of a pay-in-advance plan with its unused-fee credit and the first run on the new plan (adv11), a dunning-suspended subscription whose held close ran once paid (dunning-suspend-v1), a termination crediting the unused advance fee (unused-fee-credit-v1), a pending start moved (pending-start-move-v1), a termination refunding the unused fee (unused-fee-refund-v1) and an ending_at using stored termination options (termination-options-v1), an invoice, an invoice paid after dunning, a subscription and an invoice on a test clock, a test-clock subscription whose threshold check and ending_at follow the clock (test-clock-coverage-v1) a close that regroups paid fees (regroup-paid-fees-v1), and a test-clock subscription whose pending start and blocked-close backoff follow the clock (test-clock-plan-changes-v1), and usage signalled before the advance start billed right after it (advance-early-usage-v1), and a close finalized by one local activity with the invoice workflow that then skips finalizeInvoice (close14-fold-v1), and a draft deleted in its grace period whose workflow ends without collection (invoice-deleted-v1), and an invoice whose finalization failed, was retried, failed again and was finalized by a second retry (failed13-invoice-retry-v1), and a units change of an advance fixed charge billed mid-period and again before the close (fixed-charge-units-v1)', () => {
  expect(FILES).toEqual([
    'invoice-deleted-in-grace.json',
    'invoice-dunning-paid.json',
    'invoice-failed-retried.json',
    'invoice-finalized-at-close.json',
    'invoice-grace-refresh-finalize.json',
    'invoice-test-clock-grace.json',
    'subscription-advance-early-usage.json',
    'subscription-advance-upgrade-run1.json',
    'subscription-advance-upgrade-run2.json',
    'subscription-close-failed-then-retried.json',
    'subscription-close-fold-run1.json',
    'subscription-closed-period-run1.json',
    'subscription-closed-period-run2.json',
    'subscription-ending-stored-options.json',
    'subscription-fixed-charge-units.json',
    'subscription-pay-in-advance-run1.json',
    'subscription-pay-in-advance-run2.json',
    'subscription-pending-start-moved.json',
    'subscription-plan-change-upgrade.json',
    'subscription-regroup-paid-fees-close.json',
    'subscription-suspended-then-resumed.json',
    'subscription-terminated.json',
    'subscription-termination-refund.json',
    'subscription-test-clock-close-retry.json',
    'subscription-test-clock-pending-start.json',
    'subscription-test-clock-run1.json',
    'subscription-test-clock-terminated.json',
    'subscription-test-clock-thresholds-ending.json',
    'subscription-unused-fee-credit.json',
    'subscription-usage-thresholds.json',
  ]);
});

test.each(FILES)('%s replays on the current workflow code without nondeterminism', async (file) => {
  const history = historyFromJSON(loadHistory(file));
  await expect(Worker.runReplayHistory({ workflowBundle }, history, file)).resolves.toBeUndefined();
});

test('all recorded histories replay together through runReplayHistories with no error', async () => {
  const results = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle },
    FILES.map((file) => ({ workflowId: file, history: historyFromJSON(loadHistory(file)) })),
  )) {
    results.push({ workflowId: result.workflowId, error: result.error });
  }
  expect(results).toEqual(FILES.map((file) => ({ workflowId: file, error: undefined })));
});

test('replay fails with a determinism violation when the history disagrees with the code (the check can fail)', async () => {
  // The history says the workflow scheduled a different activity than the code does.
  const json = loadHistory('subscription-terminated.json') as { events: Array<Record<string, any>> };
  const scheduled = json.events.find((e) => e.activityTaskScheduledEventAttributes);
  scheduled!.activityTaskScheduledEventAttributes.activityType.name = 'chargeCustomer';
  await expect(Worker.runReplayHistory({ workflowBundle }, historyFromJSON(json), 'tampered')).rejects.toBeInstanceOf(
    DeterminismViolationError,
  );
});
