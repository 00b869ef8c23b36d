/**
 * The doors of the decision desk: the signals `emergency`, `rollback` and `failForward`, the
 * `decide` update (with a validator that refuses saying why), and a default signal handler that
 * lists mistyped names. The rules are the desk's (`domain/decision-desk.ts`); this file only
 * applies its steps to the run and logs them.
 */
import { ApplicationFailure, log, setDefaultSignalHandler, setHandler } from '@temporalio/workflow';
import { accept, refusal, signalled, strayed, type DeskStep } from '../../domain/decision-desk';
import { FailureTypes } from '../../domain/failures';
import { Decisions } from '../../domain/production-decisions';
import { decideUpdate, emergencySignal, failForwardSignal, rollbackSignal } from './messages';
import { iso, now, setDesk, type ReleaseRun } from './release-run';

const decisionSignals = [
  [
    emergencySignal,
    Decisions.emergency,
    'Declare an emergency (SEV-1): page operations, force staging, HOT-<n> ticket, wiki page and branch, staging hotfix-only. Payload {"by":"NAME","reason":"..."}.',
  ],
  [
    rollbackSignal,
    Decisions.rollback,
    'Roll this release back: production to the previous version, staging to last good, ROLLBACK-<n> page. Payload {"by":"NAME","reason":"..."}.',
  ],
  [
    failForwardSignal,
    Decisions.failForward,
    'Fail forward: record the decision and change nothing. Payload {"by":"NAME","reason":"..."}.',
  ],
] as const;

export function setDecisionHandlers(run: ReleaseRun): void {
  const { deciders } = run.input;
  const apply = (step: DeskStep): DeskStep => {
    setDesk(run, step.desk);
    if (step.accepted) {
      const { decision, by, reason, via } = step.accepted;
      run.timeline.push({ at: now(), what: `decision: ${decision}${reason ? ` (${reason})` : ''}`, by });
      log.info('decision accepted', { decision, by, via });
    } else {
      const { decision, by, via, why } = step.rejected;
      log.warn('decision rejected', { decision, by, via, why });
    }
    return step;
  };

  for (const [signal, name, description] of decisionSignals) {
    setHandler(signal, (payload) => void apply(signalled(run.desk, deciders, name, payload, iso(now()))), {
      description,
    });
  }
  setHandler(
    decideUpdate,
    // The validator ran in this same activation, so nothing can have changed since.
    (request) => apply(accept(run.desk, request.decision, request, 'update', iso(now()))).accepted!,
    {
      validator: (request) => {
        const r = (request ?? {}) as Partial<typeof request>;
        const why = refusal(run.desk, deciders, { decision: r.decision, by: r.by });
        if (why) {
          log.warn('decision rejected', {
            decision: String(r.decision),
            by: String(r.by),
            via: 'update',
            why,
          });
          throw ApplicationFailure.create({
            message: why,
            type: FailureTypes.decisionRejected,
            nonRetryable: true,
          });
        }
      },
      description:
        'Take a decision and get an answer: {"decision":"emergency|rollback|failForward","by":"NAME","reason":"..."}. Returns who/when/why, or is rejected saying why.',
    },
  );
  // A mistyped signal name (fail-forward, roll-back) would otherwise wait unseen in the history.
  setDefaultSignalHandler(
    (name, ...args) => void apply(strayed(run.desk, deciders, name, args[0], iso(now()))),
  );
}
