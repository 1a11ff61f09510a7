// The one workflowsPath: every workflow the worker registers, and nothing else (each exported function
// here becomes a workflow type).
export { subscriptionWorkflow } from './subscription';
export { invoiceWorkflow } from './invoice';
export { refreshFxRatesWorkflow } from './fx-refresh';
export { webhookDeliveryWorkflow } from './webhook-delivery';
export { sweepSubscriptionsWorkflow, finalizeDraftsWorkflow, overdueCheckWorkflow } from './fleet';
export { expireDueWalletsWorkflow, intervalTopUpsWorkflow } from './wallet-fleet';
export { maintainEventPartitionsWorkflow } from './event-partitions';
