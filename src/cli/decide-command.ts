/**
 * Decisions on a running release: hand it to production, or answer a production breach.
 *
 *   release-flow promote R vX.Y.Z --by NAME
 *   release-flow decide R vX.Y.Z emergency|rollback|fail-forward --by NAME [--reason TEXT]
 */
import type { Command } from 'commander';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { UserError } from '../common/errors';
import { pipelineWorkflowId } from '../workflows/shared/messages';
import {
  anyPipelineStatusQuery as statusQuery,
  type AnyPipelineStatus as PipelineStatus,
} from '../workflows/pipeline-status';
import { promoteSignal } from '../workflows/tag/messages';
import { decideUpdate, type Decision } from '../workflows/production/messages';
import type { CliContext } from './context';
import { withTemporalClient } from './temporal-client';

interface GlobalOptions {
  config?: string;
}

const CLI_DECISIONS: Record<string, Decision> = {
  emergency: 'emergency',
  rollback: 'rollback',
  'fail-forward': 'failForward',
  failForward: 'failForward',
};

export function registerDecideCommands(program: Command, ctx: CliContext): void {
  program
    .command('promote <repo> <version>')
    .description('hand a version waiting in staging to production (repositories with requirePromote)')
    .requiredOption('--by <name>', 'who promotes')
    .option('--reason <text>', 'why')
    .option('--config <file>', 'configuration file')
    .action(async (repo: string, version: string, opts: { by: string; reason?: string } & GlobalOptions) => {
      await withTemporalClient({ configFile: opts.config }, async ({ client }) => {
        const handle = client.workflow.getHandle(pipelineWorkflowId('tag', repo, version));
        const status = await queryStatus(client, pipelineWorkflowId('tag', repo, version));
        if (!status.awaitingPromotion) {
          throw new UserError(
            'NOT_AWAITING_PROMOTION',
            `${repo} ${version} is not waiting for promotion (state ${status.state}, step ${status.step})`,
            'see `release-flow status`',
          );
        }
        await handle.signal(promoteSignal, { by: opts.by, ...(opts.reason ? { reason: opts.reason } : {}) });
        ctx.out(`promoted: ${repo} ${version} by ${opts.by}`);
      });
    });

  program
    .command('decide <repo> <version> <decision>')
    .description('answer a production breach: emergency, rollback or fail-forward')
    .requiredOption('--by <name>', 'who decides')
    .option('--reason <text>', 'why')
    .option('--config <file>', 'configuration file')
    .option('--json', 'print JSON')
    .action(
      async (
        repo: string,
        version: string,
        name: string,
        opts: { by: string; reason?: string; json?: boolean } & GlobalOptions,
      ) => {
        const decision = CLI_DECISIONS[name];
        if (!decision) {
          throw new UserError(
            'UNKNOWN_DECISION',
            `unknown decision ${JSON.stringify(name)}`,
            'use emergency, rollback or fail-forward',
          );
        }
        await withTemporalClient({ configFile: opts.config }, async ({ client }) => {
          const workflowId = pipelineWorkflowId('production', repo, version);
          try {
            const record = await client.workflow.getHandle(workflowId).executeUpdate(decideUpdate, {
              args: [{ decision, by: opts.by, ...(opts.reason ? { reason: opts.reason } : {}) }],
            });
            ctx.out(
              opts.json
                ? JSON.stringify({ accepted: true, decision: record })
                : `accepted: ${name} by ${opts.by} on ${repo} ${version}`,
            );
          } catch (err) {
            if (
              err instanceof WorkflowUpdateFailedError ||
              (err instanceof Error && /reject/i.test(err.message))
            ) {
              const why = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
              ctx.out(opts.json ? JSON.stringify({ accepted: false, reason: why }) : `rejected: ${why}`);
              ctx.setExitCode(1);
              return;
            }
            if (err instanceof WorkflowNotFoundError) {
              const ended = await endedState(client, workflowId);
              if (ended) {
                // The release exists but its run is over: a decision now changes nothing.
                const why = `${repo} ${version} has ended (${ended}); no decision is awaited`;
                ctx.out(opts.json ? JSON.stringify({ accepted: false, reason: why }) : `rejected: ${why}`);
                ctx.setExitCode(1);
                return;
              }
              throw new UserError(
                'NO_SUCH_RELEASE',
                `no production release ${repo} ${version} (workflow ${workflowId})`,
                'check the repository and version with `release-flow status`',
              );
            }
            throw err;
          }
        });
      },
    );
}

/** The closed run's state (from its status query, else its Temporal status), or undefined. */
async function endedState(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    const handle = client.workflow.getHandle(workflowId);
    const described = await handle.describe();
    const status = await handle.query(statusQuery).catch(() => undefined);
    return status?.state ?? described.status.name.toLowerCase();
  } catch {
    return undefined;
  }
}

async function queryStatus(client: Client, workflowId: string): Promise<PipelineStatus> {
  try {
    return await client.workflow.getHandle(workflowId).query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new UserError(
        'NO_SUCH_RELEASE',
        `no workflow ${workflowId}`,
        'check the repository and version with `release-flow status`',
      );
    }
    throw err;
  }
}
