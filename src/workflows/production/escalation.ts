/**
 * Waiting for a person after a breach (or an APM that could not judge): the development team is
 * asked for a decision, asked again every `realertAfter`, and operations are paged once after
 * `escalateAfter`; after that the run waits quietly (the status shows `awaitingDecision`).
 */
import { condition } from '@temporalio/workflow';
import type { ReleasePage, ReleasePageKind } from '../../activities/production-alerts';
import { awaitDecisions, takenDecision } from '../../domain/decision-desk';
import type { HealthVerdict } from '../../domain/health-verdict';
import { Decisions, describeDeciders, type DecisionRecord } from '../../domain/production-decisions';
import { iso, now, quick, setDesk, type ReleaseRun } from './release-run';

export async function awaitDecision(run: ReleaseRun, trouble: HealthVerdict): Promise<DecisionRecord> {
  const { settings, keyPrefix } = run;
  const decided = () => takenDecision(run.desk) !== undefined;
  const since = now();
  setDesk(run, awaitDecisions(run.desk));
  run.status.awaitingSince = iso(since);
  await page(run, 'decision-needed', settings.developmentTeam, `${keyPrefix}/decision-needed/1`, trouble, {
    round: 1,
  });
  let round = 1;
  let escalated = false;
  const escalateAt = since + settings.escalateMs;
  while (!decided()) {
    if (escalated) {
      await condition(decided);
      break;
    }
    const nextRealert = since + round * settings.realertMs;
    const next = Math.min(nextRealert, escalateAt);
    if (await condition(decided, Math.max(next - now(), 1))) break;
    if (now() >= escalateAt) {
      escalated = true;
      await page(run, 'escalation', settings.operationsTeam, `${keyPrefix}/escalation`, trouble, {
        waitedMs: now() - since,
      });
    } else {
      round += 1;
      await page(
        run,
        'decision-needed',
        settings.developmentTeam,
        `${keyPrefix}/decision-needed/${round}`,
        trouble,
        {
          round,
          waitedMs: now() - since,
        },
      );
    }
  }
  return takenDecision(run.desk) as DecisionRecord;
}

/** Pages `team` about the release (idempotent by `key`); the status lists each page and its deliveries. */
export async function page(
  run: ReleaseRun,
  kind: ReleasePageKind,
  team: string,
  key: string,
  trouble: HealthVerdict,
  extra: Partial<ReleasePage>,
): Promise<void> {
  const { input, status } = run;
  const receipt = await quick.pageReleaseAlert.executeWithOptions({ summary: `page ${team}: ${kind}` }, [
    {
      key,
      kind,
      team,
      repository: run.repository,
      version: run.version,
      verdict: trouble.verdict,
      reason: trouble.reason,
      deciders: {
        emergency: describeDeciders(input.deciders, Decisions.emergency),
        rollback: describeDeciders(input.deciders, Decisions.rollback),
        failForward: describeDeciders(input.deciders, Decisions.failForward),
      },
      ...extra,
    },
  ]);
  const deliveries = receipt?.deliveries ?? [];
  status.pages = [
    ...(status.pages ?? []),
    { key, team, kind, at: iso(now()), ...(deliveries.length ? { deliveries } : {}) },
  ];
  run.timeline.push({ at: now(), what: `paged ${team} (${kind})` });
}
