/**
 * `release-flow demo break|heal|hotfix`: make the demo's production error rate exceed the
 * threshold (or bring it back), through the local metric source the production watch reads; and
 * push a fix to the open incident's `HOT-<n>` branch, delivered to the running demo's receiver.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { environmentKey } from '../activities/deploy';
import { environmentsOf } from '../composition/environment-reads';
import { LocalIncidents } from '../adapters/local/local-incidents';
import { LocalMetricSource } from '../adapters/local/local-metric-source';
import { loadConfig } from '../config/load';
import type { Config, RepositoryConfig } from '../config/schema';
import { DEMO_REPOSITORY, demoGit } from '../demo/demo-repository';
import { readDemoReceiver } from '../demo/demo-receiver';
import { deliverPush } from '../demo/run-demo';
import { UserError } from '../common/errors';
import { listRuns, readStatus } from '../starter';
import type { CliContext } from './context';
import { withTemporalClient } from './temporal-client';

function metricSource(config: Readonly<Config>): LocalMetricSource {
  return new LocalMetricSource({ dir: path.resolve(config.stateDir, 'apm') });
}

function target(repository: string | undefined) {
  return repository ? { service: repository, env: 'production' } : 'production';
}

/** The repository a demo command acts on: the one named, else the only configured one, else the demo's. */
function demoRepositoryName(config: Readonly<Config>, name: string | undefined): string {
  if (name) return name;
  if (config.repositories.length === 1) return config.repositories[0]!.name;
  return DEMO_REPOSITORY;
}

function configuredRepository(config: Readonly<Config>, name: string): RepositoryConfig & { path: string } {
  const repo = config.repositories.find((r) => r.name === name);
  if (!repo?.path) {
    throw new UserError(
      'NO_LOCAL_CLONE',
      `repository ${name} has no local clone configured to commit the fix in`,
      'run the demo with `npm start` (its configuration names the clone), or pass --config with the repository and its path',
    );
  }
  return { ...repo, path: repo.path };
}

/**
 * Which running production watch will see a breach of these repositories, one line each; or
 * that none is watching and how to get one. Temporal away is said, not thrown: the error rate
 * is set either way.
 */
async function watchLines(configFile: string | undefined, repository: string | undefined): Promise<string[]> {
  try {
    return await withTemporalClient({ configFile }, async ({ client }) => {
      const lines: string[] = [];
      const query = "WorkflowType = 'productionReleaseWorkflow' AND ExecutionStatus = 'Running'";
      for (const wf of await listRuns(client, query, Infinity)) {
        // production:<repository>:<version>; a repository name has no colon.
        const [, repo = '', idVersion = ''] = wf.workflowId.split(':');
        if (repository && repo !== repository) continue;
        const status = await readStatus(client, wf.workflowId).catch(() => undefined);
        if (!status) continue;
        const version = status.version ?? idVersion;
        if (status.awaitingDecision) {
          lines.push(
            `${repo} ${version} has already breached and awaits a decision (workflow ${wf.workflowId})`,
          );
        } else if (status.health && status.state === 'running') {
          const every = ` (a sample every ${Math.round(status.health.sampleIntervalMs / 1000)} s)`;
          lines.push(
            `the production watch of ${repo} ${version} sees it within a few samples${every} (workflow ${wf.workflowId})`,
          );
        }
      }
      if (!lines.length) {
        lines.push(
          `no production watch${repository ? ` of ${repository}` : ''} is running to see it: release a version to watch ` +
            '(`npm start` again releases the demo; or `release-flow start tag --repo REPO --tag vX.Y.Z`), then break it',
        );
      }
      return lines;
    });
  } catch (err) {
    if (err instanceof UserError)
      return [`cannot tell whether a production watch will see it: ${err.message}`];
    throw err;
  }
}

/**
 * Commits a fix on `branch` of the clone at `dir` in a worktree of its own, so the clone's
 * checkout (main) is left as it is. Returns the new head.
 */
async function commitFix(dir: string, branch: string, message: string): Promise<string> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'release-flow-demo-hotfix-'));
  const tree = path.join(work, 'tree');
  try {
    await demoGit(dir, 'worktree', 'add', '-q', tree, branch);
    try {
      await writeFile(path.join(tree, 'HOTFIX'), `${message}\n${new Date().toISOString()}\n`);
      await demoGit(tree, 'add', 'HOTFIX');
      await demoGit(tree, '-c', 'commit.gpgsign=false', 'commit', '-q', '-m', message);
      return await demoGit(tree, 'rev-parse', 'HEAD');
    } finally {
      await demoGit(dir, 'worktree', 'remove', '--force', tree);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function productionVersion(config: Readonly<Config>, repository: string): Promise<string | null> {
  const environments = environmentsOf(config);
  const state = await environments.state(environmentKey(repository, 'production'));
  return state.current?.version ?? null;
}

export function registerDemoCommands(program: Command, ctx: CliContext): void {
  const demo = program.command('demo').description("the newcomer's demo (npm start with no configuration)");
  demo
    .command('break')
    .description('make production unhealthy: its error rate jumps above the threshold, so the watch breaches')
    .option('--error-rate <rate>', 'share of failing requests, 0..1', '0.3')
    .option('--config <file>', 'configuration file')
    .option(
      '--repository <name>',
      'only this repository (service); default: every repository without its own traffic',
    )
    .action(async (opts: { errorRate: string; config?: string; repository?: string }) => {
      const rate = Number(opts.errorRate);
      if (!(rate >= 0 && rate <= 1)) {
        throw new UserError(
          'INVALID_OPTION',
          `--error-rate ${opts.errorRate} is not between 0 and 1`,
          'pass e.g. --error-rate 0.3',
        );
      }
      const { config } = loadConfig({ file: opts.config });
      await metricSource(config).setErrorRate(target(opts.repository), rate);
      ctx.out(`production error rate is now ${rate * 100}%`);
      for (const line of await watchLines(opts.config, opts.repository)) ctx.out(line);
      ctx.out(
        'then decide: npx release-flow decide REPO VERSION emergency|rollback|fail-forward --by NAME (see `release-flow status`)',
      );
    });
  demo
    .command('heal')
    .description('bring production back to a healthy error rate')
    .option('--config <file>', 'configuration file')
    .option('--repository <name>', 'only this repository (service)')
    .action(async (opts: { config?: string; repository?: string }) => {
      const { config } = loadConfig({ file: opts.config });
      await metricSource(config).setErrorRate(target(opts.repository), 0);
      ctx.out('production error rate is now 0%');
    });
  demo
    .command('hotfix')
    .description(
      "commit a fix on the open incident's HOT-<n> branch and deliver its push to the running demo's receiver",
    )
    .option('--config <file>', 'configuration file')
    .option('--repository <name>', 'the repository of the incident (default: the demo repository)')
    .action(async (opts: { config?: string; repository?: string }) => {
      const { config } = loadConfig({ file: opts.config });
      const name = demoRepositoryName(config, opts.repository);
      const incidents = await new LocalIncidents(path.resolve(config.stateDir)).list();
      const incident = incidents.filter((i) => i.repository === name && i.state !== 'closed').at(-1);
      if (!incident) {
        const version = (await productionVersion(config, name)) ?? 'vX.Y.Z';
        throw new UserError(
          'NO_OPEN_INCIDENT',
          `${name} has no open incident to push a hotfix for`,
          `declare an emergency first: release-flow decide ${name} ${version} emergency --by you`,
        );
      }
      const repo = configuredRepository(config, name);
      const receiver = readDemoReceiver(config.stateDir);
      const message = `fix(${incident.id}): stop the errors ${incident.brokenVersion} brought`;
      const head = await commitFix(repo.path, incident.branch, message);
      ctx.out(`committed ${head.slice(0, 12)} "${message}" on ${incident.branch} of ${repo.name}`);
      const delivered = await deliverPush(
        { receiverUrl: receiver.url, secret: receiver.secret },
        `refs/heads/${incident.branch}`,
        head,
        repo.name,
      );
      if (!delivered.body.workflowId) {
        throw new UserError(
          'PUSH_NOT_STARTED',
          `the receiver answered ${delivered.status} to the push of ${incident.branch}: ${delivered.body.reason ?? 'no pipeline started'}`,
          `start it by hand: release-flow start hotfix --repo ${repo.name} --branch ${incident.branch} --sha ${head}`,
        );
      }
      // The demo's stand-in for the fix working: production's traffic is healthy again, so the
      // hotfix passes its watch.
      await metricSource(config).setErrorRate(target(opts.repository), 0);
      ctx.out(
        `pushed to ${receiver.url}: ${delivered.status} ${delivered.body.decision ?? ''} -> ${delivered.body.workflowId}`,
      );
      ctx.out('production error rate is back to 0%: the fix works once it is deployed');
      ctx.out(
        `follow it: npx release-flow hotfix status ${incident.id} (closed once the hotfix is healthy), npx release-flow lock status (normal mode again), npx release-flow status`,
      );
    });
}
