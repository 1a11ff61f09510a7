// The time-skipping test server from .venv (never downloaded), with Meterline's search attributes registered
// through the operator service (the test server rejects upserts of unregistered attributes).
//
// Known test-server limitation (temporalio/sdk-java#1540, #1618, sdk-typescript#1101): once a workflow has
// started a child and continued as new, time skipping stalls and env.sleep never returns. Tests therefore
// never call env.sleep after a period close; they reach closes with periods that ended in the past, or with
// a timer that fires before any child was started.
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalTestServerPath } from '../../dev/temporal';
import { SEARCH_ATTRIBUTES } from '../../workflows/messages';

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
  });
  const searchAttributes: Record<string, number> = {};
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
    const encoded = encodeSearchAttributeIndexedValueType(({ Keyword: 'KEYWORD', Datetime: 'DATETIME', Int: 'INT' } as const)[type]);
    if (encoded === undefined) throw new Error(`no indexed value type for ${type}`);
    searchAttributes[name] = encoded;
  }
  await env.connection.operatorService.addSearchAttributes({ namespace: env.namespace ?? 'default', searchAttributes });
  return env;
}
