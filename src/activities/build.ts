/**
 * Build and test activities: the repository's configured commands, run by the CommandRunner
 * port at one commit. A failing build or test is a definitive failure (BuildFailed /
 * TestsFailed) with the log's tail; the activity heartbeats while a step runs, and a
 * cancelled activity kills its step.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { RepositoryConfig } from '../config/schema';
import { parseDuration } from '../common/duration';
import type { CommandPurpose, CommandRunner, CommandStep } from '../ports/command-runner';
import { definitive } from './definitive';
import { FailureTypes } from '../domain/failures';

export interface BuildPorts {
  runner: CommandRunner;
  /** The configuration of a repository by name; undefined when it is not configured. */
  repository: (name: string) => RepositoryConfig | undefined;
}

export interface BuildArtifactInput {
  repository: string;
  commit: string;
}

export interface BuildArtifactResult {
  /** Where the built artifact is kept on this worker (the registry uploads from here). */
  file: string;
  log: string;
  durationMs: number;
}

export interface RunTestsInput {
  repository: string;
  commit: string;
  purpose: Extract<CommandPurpose, 'unit-tests' | 'integration-tests'>;
  /** For integration tests: the environment and the version running there. */
  env?: string;
  version?: string;
}

export interface RunTestsResult {
  log: string;
  durationMs: number;
  reused: boolean;
}

type StepConfig = RepositoryConfig['commands']['build'][number];

export function toSteps(configured: readonly StepConfig[], label: string): CommandStep[] {
  return configured.map((step, i) => {
    const argv = Array.isArray(step) ? step : step.argv;
    const name = (!Array.isArray(step) && step.name) || `${label} ${i + 1}: ${argv.join(' ')}`;
    const timeout = !Array.isArray(step) && step.timeout ? parseDuration(step.timeout) : undefined;
    return { name, argv, ...(timeout ? { timeoutMs: timeout } : {}) };
  });
}

function configured(ports: BuildPorts, name: string): RepositoryConfig {
  const repo = ports.repository(name);
  if (!repo) {
    throw ApplicationFailure.nonRetryable(
      `repository ${name} is not configured; add it under repositories: in the config file`,
      FailureTypes.repositoryNotConfigured,
    );
  }
  return repo;
}

function heartbeatProgress(progress: { step: string; elapsedMs: number }): void {
  Context.current().heartbeat(progress);
}

/**
 * Heartbeats every two seconds besides the runner's progress: a cancellation (the staging lock
 * was taken away) reaches the activity on its next heartbeat, and the runner then kills the
 * step's process group, so a revoked holder's tests stop within seconds.
 */
async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), 2_000);
  try {
    return await work();
  } catch (err) {
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
    throw err;
  } finally {
    clearInterval(beat);
  }
}

export function createBuildActivities(ports: BuildPorts) {
  return {
    /** Runs the build commands at the commit and keeps the artifact they produce. */
    async buildArtifact(input: BuildArtifactInput): Promise<BuildArtifactResult> {
      const repo = configured(ports, input.repository);
      if (!repo.artifact) {
        throw ApplicationFailure.nonRetryable(
          `repository ${input.repository} has no artifact path; set repositories[].artifact to the file the build produces`,
          FailureTypes.repositoryNotConfigured,
        );
      }
      const result = await definitive(() =>
        ports.runner.run({
          repository: input.repository,
          commit: input.commit,
          purpose: 'build',
          // Main, tags and hotfixes only: a pull request's build is pr-build.ts's, with no network.
          trust: 'reviewed',
          steps: toSteps(repo.commands.build, 'build'),
          timeoutMs: parseDuration(repo.timeouts.build),
          collect: [repo.artifact!],
          signal: Context.current().cancellationSignal,
          onProgress: heartbeatProgress,
        }),
      );
      const output = result.outputs.find((o) => o.name === repo.artifact);
      if (!output) {
        throw ApplicationFailure.nonRetryable(
          `the build of ${input.commit} did not produce ${repo.artifact}`,
          'BuildFailed',
          { log: result.log },
        );
      }
      return { file: output.path, log: result.log, durationMs: result.durationMs };
    },

    /** Runs unit tests at the commit, or integration tests against an environment. */
    async runTests(input: RunTestsInput): Promise<RunTestsResult> {
      const repo = configured(ports, input.repository);
      const integration = input.purpose === 'integration-tests';
      const steps = integration ? repo.commands.integrationTests : repo.commands.unitTests;
      const result = await heartbeating(() =>
        definitive(() =>
          ports.runner.run({
            repository: input.repository,
            commit: input.commit,
            purpose: input.purpose,
            trust: 'reviewed',
            // Integration results depend on what ran where: a new deploy is a new run.
            ...(integration ? { scope: `${input.env}@${input.version}` } : {}),
            steps: toSteps(steps, integration ? 'integration tests' : 'unit tests'),
            env: integration
              ? { RELEASE_FLOW_ENV: input.env ?? '', RELEASE_FLOW_VERSION: input.version ?? '' }
              : {},
            timeoutMs: parseDuration(integration ? repo.timeouts.integrationTests : repo.timeouts.unitTests),
            signal: Context.current().cancellationSignal,
            onProgress: heartbeatProgress,
          }),
        ),
      );
      return { log: result.log, durationMs: result.durationMs, reused: result.reused };
    },
  };
}
