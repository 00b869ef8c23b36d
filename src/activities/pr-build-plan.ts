/**
 * Which commands a pull request's build runs (docs/pipelines-and-decisions.md "The pull-request gate (stage 0)"): the
 * repository's build commands, then its unit-test commands, in one checkout. Read by the policy
 * check, which plans the build, and by the build itself.
 */
import type { RepositoryConfig } from '../config/schema';
import type { CommandStep } from '../ports/command-runner';
import {
  PullRequestBuildPhases,
  PullRequestBuildStates,
  type PullRequestBuild,
  type PullRequestBuildPhase,
} from '../workflows/pr-gate/messages';
import { toSteps } from './build';

export interface PlannedStep {
  step: CommandStep;
  phase: PullRequestBuildPhase;
}

export function plannedSteps(repo: RepositoryConfig): PlannedStep[] {
  const of = (phase: PullRequestBuildPhase) => (step: CommandStep) => ({ step, phase });
  return [
    ...toSteps(repo.commands.build, 'build').map(of(PullRequestBuildPhases.build)),
    ...toSteps(repo.commands.unitTests, 'unit tests').map(of(PullRequestBuildPhases.unitTests)),
  ];
}

/**
 * The build a pull request of this repository gets: planned, with its steps; undefined when the
 * repository has no build or unit-test commands (or `pullRequestBuilds: none`), and then there
 * is no `release-flow/build`.
 */
export function pullRequestBuildPlan(repo: RepositoryConfig | undefined): PullRequestBuild | undefined {
  const steps = repo && repo.pullRequestBuilds !== 'none' ? plannedSteps(repo) : [];
  if (!steps.length) return undefined;
  return {
    state: PullRequestBuildStates.planned,
    steps: steps.map(({ step, phase }) => ({ name: step.name, phase })),
  };
}
