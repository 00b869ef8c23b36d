/** Links into the Temporal UI, for commit statuses and alerts ("Details" opens the workflow). */

export interface WorkflowLink {
  /** The UI root: `http://127.0.0.1:8233` for the embedded server, `https://cloud.temporal.io` for Cloud. */
  uiUrl: string;
  namespace: string;
  workflowId: string;
  /** Without it the UI opens the latest run of the id. */
  runId?: string;
}

export function workflowUrl(link: WorkflowLink): string {
  const root = link.uiUrl.replace(/\/+$/, '');
  const run = link.runId ? `/${encodeURIComponent(link.runId)}` : '';
  return `${root}/namespaces/${encodeURIComponent(link.namespace)}/workflows/${encodeURIComponent(link.workflowId)}${run}`;
}
