/**
 * The pull-request build (docs/pipelines-and-decisions.md "The pull-request gate (stage 0)"): the head of a pull request
 * built and unit-tested in one clean checkout by the CommandRunner, reported as the
 * `release-flow/build` commit status through the same ports as the policy. A failing step is an
 * outcome returned to the gate, not a thrown failure: the gate completes and the status names the
 * step. Posting a status is idempotent (the latest one per context wins), and a passing build is
 * recorded by the runner, so retries repeat nothing.
 */
import { Context } from '@temporalio/activity';
import { fitStatusDescription } from '../domain/pr-policy';
import { parseDuration } from '../common/duration';
import { isUserError } from '../common/errors';
import { CommandPurposes, type CommandFailureDetails } from '../ports/command-runner';
import {
  CommitStates,
  StatusContexts,
  type CommitState,
  type CommitStatuses,
} from '../ports/commit-statuses';
import { FailureTypes, isDefinitiveFailure } from '../domain/failures';
import { workflowUrl } from '../common/ui-links';
import {
  PullRequestBuildPhases,
  PullRequestBuildStates,
  type PostedStatus,
  type PullRequestBuild,
  type PullRequestGateInput,
} from '../workflows/pr-gate/messages';
import type { BuildPorts } from './build';
import { portsOf, refusalsFinal, type PrGatePorts } from './pr-gate';
import { plannedSteps } from './pr-build-plan';

export type PrBuildPorts = BuildPorts &
  PrGatePorts & {
    /** A link to a run log kept on this worker, when something serves them (the app's `GET /logs/...`). */
    logUrl?: (logPath: string) => string | undefined;
  };

export interface PostPullRequestBuildStatusInput {
  pullRequest: PullRequestGateInput;
  build: PullRequestBuild;
}

// Build and unit tests share one checkout and one log; the scope keeps the run apart from the
// main-commit pipeline's build of the same commit, whose record must hold its artifact.
const PR_BUILD_SCOPE = 'pull-request';

function seconds(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const total = Math.round(ms / 1000);
  return `${Math.floor(total / 60)}m ${total % 60}s`;
}

function phaseDurations(build: PullRequestBuild): string {
  const totals = new Map<string, number>();
  for (const step of build.steps)
    totals.set(step.phase, (totals.get(step.phase) ?? 0) + (step.durationMs ?? 0));
  return [...totals].map(([phase, ms]) => `${phase} ${seconds(ms)}`).join(', ');
}

/** The `release-flow/build` state and description for a build in any state. */
export function buildStatusOf(build: PullRequestBuild): { state: CommitState; description: string } {
  switch (build.state) {
    case PullRequestBuildStates.planned:
    case PullRequestBuildStates.building: {
      const phases = new Set(build.steps.map((s) => s.phase));
      const doing =
        phases.size > 1
          ? 'Building and testing'
          : phases.has(PullRequestBuildPhases.build)
            ? 'Building'
            : 'Running unit tests';
      return { state: CommitStates.pending, description: `${doing}…` };
    }
    case PullRequestBuildStates.passed:
      return {
        state: CommitStates.success,
        description: fitStatusDescription(
          `Passed in ${seconds(build.durationMs ?? 0)}: ${phaseDurations(build)}` +
            (build.reused ? ' (an earlier build of this commit)' : ''),
        ),
      };
    case PullRequestBuildStates.failed:
      return {
        state: CommitStates.failure,
        description: fitStatusDescription(
          `Failed at "${build.failedStep ?? 'unknown step'}" (${build.failure ?? 'failed'})`,
        ),
      };
    case PullRequestBuildStates.error:
      return {
        state: CommitStates.error,
        description: fitStatusDescription(`Could not build: ${build.reason ?? 'unknown error'}`),
      };
  }
}

/**
 * Where the build reaches the repository's commit statuses: the gate's accessor, used here
 * only, so giving local repositories their own ports changes this one function.
 */
async function buildStatuses(ports: PrBuildPorts, repository: string): Promise<CommitStatuses> {
  return (await portsOf(ports, repository)).statuses;
}

// The workflow id without a run: "Details" opens the latest gate of this head.
function workflowLink(ports: PrBuildPorts): string | undefined {
  const info = Context.current().info;
  const workflowId = info.workflowExecution?.workflowId;
  if (!ports.uiUrl || !workflowId) return undefined;
  return workflowUrl({ uiUrl: ports.uiUrl, namespace: info.workflowNamespace ?? 'default', workflowId });
}

function howItEnded(details: CommandFailureDetails, artifact: string | undefined): string {
  if (details.step === 'collect') return `did not produce ${artifact ?? 'the artifact'}`;
  if (details.timedOut) return 'timed out';
  if (details.exitCode !== null) return `exit ${details.exitCode}`;
  return details.signal ? `killed by ${details.signal}` : 'did not start';
}

export function createPrBuildActivities(ports: PrBuildPorts) {
  return {
    /**
     * Sets `release-flow/build` on the pull request's head from the build's state: pending while
     * planned or building, then success, failure (naming the step) or error. "Details" opens the
     * log when the worker serves it, otherwise the gate in the Temporal UI. Returns the status.
     */
    async postPullRequestBuildStatus(input: PostPullRequestBuildStatusInput): Promise<PostedStatus> {
      const statuses = await buildStatuses(ports, input.pullRequest.repository);
      const { state, description } = buildStatusOf(input.build);
      const targetUrl = input.build.logUrl ?? workflowLink(ports);
      await refusalsFinal(() =>
        statuses.post({
          sha: input.pullRequest.head,
          context: StatusContexts.build,
          state,
          description,
          ...(targetUrl ? { targetUrl } : {}),
        }),
      );
      return { context: StatusContexts.build, state, description, ...(targetUrl ? { targetUrl } : {}) };
    },

    /**
     * Builds the pull request's head and runs its unit tests in one clean checkout, fetching the
     * head from `origin` (or its `refs/pull/<n>/head`) when the clone lacks it. Keeps the artifact
     * when one is configured. Returns passed, failed (the step, how it ended, the log's tail) or
     * error (why nothing could run); throws only what a retry may fix. Heartbeats throughout.
     */
    async buildPullRequest(input: PullRequestGateInput): Promise<PullRequestBuild> {
      const repo = ports.repository(input.repository);
      const planned = repo ? plannedSteps(repo) : [];
      const steps = planned.map(({ step, phase }) => ({ name: step.name, phase }));
      if (!repo || !planned.length) {
        return {
          state: PullRequestBuildStates.error,
          steps,
          reason: `${input.repository} has no build or unit-test commands configured on this worker`,
        };
      }
      if (input.fork && repo.pullRequestBuilds !== 'all') {
        return {
          state: PullRequestBuildStates.error,
          steps,
          reason: `the head is on the fork ${input.fork}; forks are built only with pullRequestBuilds: all`,
        };
      }
      const collect = repo.artifact && repo.commands.build.length ? [repo.artifact] : [];
      const context = Context.current();
      let progress: unknown = { step: 'checking out' };
      // Fetching the head and making the worktree report no progress: keep the heartbeat alive.
      const beat = setInterval(() => context.heartbeat(progress), 5_000);
      try {
        const result = await ports.runner.run({
          repository: input.repository,
          // A hotfix branch builds its merge result with the base (docs/pipelines-and-decisions.md "Hotfix flow").
          commit: input.buildCommit ?? input.head,
          purpose: CommandPurposes.build,
          // A branch's code nobody has reviewed: the strict sandbox, no network.
          trust: 'pull-request',
          scope: PR_BUILD_SCOPE,
          steps: planned.map((p) => p.step),
          fetch: input.buildCommit ? (input.mergeFetch ?? []) : [`refs/pull/${input.number}/head`],
          timeoutMs: parseDuration(repo.timeouts.build) + parseDuration(repo.timeouts.unitTests),
          ...(collect.length ? { collect } : {}),
          signal: context.cancellationSignal,
          onProgress: (p) => {
            progress = p;
            context.heartbeat(p);
          },
        });
        const logUrl = ports.logUrl?.(result.log);
        return {
          state: PullRequestBuildStates.passed,
          steps: steps.map((s, i) => ({
            ...s,
            result: 'passed',
            durationMs: result.steps[i]?.durationMs ?? 0,
          })),
          durationMs: result.durationMs,
          reused: result.reused,
          log: result.log,
          ...(logUrl ? { logUrl } : {}),
          ...(result.outputs[0] ? { artifact: result.outputs[0].path } : {}),
        };
      } catch (err) {
        if (
          isDefinitiveFailure(err) &&
          (err.type === FailureTypes.buildFailed || err.type === FailureTypes.testsFailed)
        ) {
          const details = err.details as unknown as CommandFailureDetails;
          const failedAt = steps.findIndex((s) => s.name === details.step);
          const logUrl = ports.logUrl?.(details.log);
          return {
            state: PullRequestBuildStates.failed,
            // A missing artifact fails after every step passed.
            steps: steps.map((s, i) => ({
              ...s,
              result: failedAt < 0 || i < failedAt ? 'passed' : i === failedAt ? 'failed' : 'not run',
            })),
            log: details.log,
            ...(logUrl ? { logUrl } : {}),
            failedStep: details.step === 'collect' ? `collect ${repo.artifact}` : details.step,
            failure: howItEnded(details, repo.artifact),
            tail: details.tail,
          };
        }
        // A commit no remote has, a bad reference, a repository without a local clone: no retry helps.
        if (isDefinitiveFailure(err) || isUserError(err)) {
          const reason = isUserError(err) && err.fix ? `${err.message} (fix: ${err.fix})` : err.message;
          return { state: PullRequestBuildStates.error, steps, reason };
        }
        throw err;
      } finally {
        clearInterval(beat);
      }
    },
  };
}
