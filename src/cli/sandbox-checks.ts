/**
 * `release-flow doctor`'s view of the step sandbox (docs/threat-model.md): the mode steps get
 * and why, what each kind of step (a pull request's, reviewed code's, a deploy's) may reach,
 * and a failure when the worker would refuse to start (bubblewrap missing), a warning when steps
 * run as the worker because the configuration says so.
 */
import { chooseSandbox, describeStepKinds } from '../adapters/local/step-sandbox';
import type { Config } from '../config/schema';
import type { IntegrationCheck } from './integration-checks';

export function sandboxChecks(config: Readonly<Config>, env: NodeJS.ProcessEnv): IntegrationCheck[] {
  const choice = chooseSandbox(config, { env });
  const mode: IntegrationCheck = choice.refusal
    ? { kind: 'sandbox', name: 'mode', ok: false, detail: `${choice.reason}; ${choice.refusal.render()}` }
    : {
        kind: 'sandbox',
        name: 'mode',
        ok: true,
        detail: `${choice.mode}: ${choice.reason}${choice.warning ? `; WARNING: ${choice.warning}` : ''}`,
      };
  if (choice.refusal) return [mode];
  return [
    mode,
    ...describeStepKinds(config, choice).map(({ kind, detail }) => ({
      kind: 'sandbox',
      name: kind,
      ok: true,
      detail,
    })),
  ];
}
