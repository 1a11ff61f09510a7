// The time-skipping test server from .venv (never downloaded), with Meterline's search attributes registered
// through the operator service (the test server rejects upserts of unregistered attributes).
//
// Known test-server limitation (temporalio/sdk-java#1540, #1618, sdk-typescript#1101): once a workflow has
// started a child and continued as new, time skipping stalls and env.sleep never returns. Tests therefore
// never call env.sleep after a period close; they reach closes with periods that ended in the past, or with
// a timer that fires before any child was started. Re-checked on 2026-12-01 with the .venv server: a period
// close (invoice child + continue-as-new) during env.sleep stalled that sleep with the worker running and
// nothing leaked, so this is a real limitation, distinct from the leak below.
//
// A different stall with the same symptom: a workflow left RUNNING with queued work (an invoice child still
// collecting payment) when its test's worker stops blocks time skipping for every later env.sleep on the
// server, and terminating it afterwards does not unlock it. Tests run their workers through runUntilSettled
// (test/support/workflow-leaks.ts), which fails the leaking test at once, naming the workflow.
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalTestServerPath } from '../../dev/temporal';
import { SEARCH_ATTRIBUTES } from '../../workflows/messages';
import { StartedWorkflows, registerStartedWorkflows } from './workflow-leaks';

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  // The client records every workflow it starts, for the leak guard (test/support/workflow-leaks.ts).
  const started = new StartedWorkflows();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
    client: { interceptors: { workflow: [started.interceptor] } },
  });
  registerStartedWorkflows(env, started);
  const searchAttributes: Record<string, number> = {};
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
    const encoded = encodeSearchAttributeIndexedValueType(({ Keyword: 'KEYWORD', Datetime: 'DATETIME', Int: 'INT' } as const)[type]);
    if (encoded === undefined) throw new Error(`no indexed value type for ${type}`);
    searchAttributes[name] = encoded;
  }
  await env.connection.operatorService.addSearchAttributes({ namespace: env.namespace ?? 'default', searchAttributes });
  return env;
}
