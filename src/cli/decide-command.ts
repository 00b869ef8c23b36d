/**
 * Decisions on a running release: hand it to production, or answer a production breach.
 *
 *   release-flow promote R vX.Y.Z --by NAME
 *   release-flow decide R vX.Y.Z emergency|rollback|fail-forward --by NAME [--reason TEXT]
 */
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { UserError } from '../common/errors';
import { promote, readStatus, sendDecision } from '../starter';
import { pipelineWorkflowId } from '../workflows/shared/messages';
import type { AnyPipelineStatus as PipelineStatus } from '../workflows/pipeline-status';
import type { Decision } from '../workflows/production/messages';
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
        const workflowId = pipelineWorkflowId('tag', repo, version);
        const status = await queryStatus(client, workflowId);
        if (!status.awaitingPromotion) {
          throw new UserError(
            'NOT_AWAITING_PROMOTION',
            `${repo} ${version} is not waiting for promotion (state ${status.state}, step ${status.step})`,
            'see `release-flow status`',
          );
        }
        await promote(client, workflowId, { by: opts.by, ...(opts.reason ? { reason: opts.reason } : {}) });
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
          const answer = await sendDecision(client, workflowId, {
            decision,
            by: opts.by,
            ...(opts.reason ? { reason: opts.reason } : {}),
          });
          if (answer.accepted) {
            ctx.out(
              opts.json
                ? JSON.stringify({ accepted: true, decision: answer.decision })
                : `accepted: ${name} by ${opts.by} on ${repo} ${version}`,
            );
            return;
          }
          if (answer.refusal === 'not-found') {
            throw new UserError(
              'NO_SUCH_RELEASE',
              `no production release ${repo} ${version} (workflow ${workflowId})`,
              'check the repository and version with `release-flow status`',
            );
          }
          if (answer.refusal === 'unavailable') throw answer.error;
          ctx.out(
            opts.json
              ? JSON.stringify({ accepted: false, reason: answer.reason })
              : `rejected: ${answer.reason}`,
          );
          ctx.setExitCode(1);
        });
      },
    );
}

async function queryStatus(client: Client, workflowId: string): Promise<PipelineStatus> {
  const status = await readStatus(client, workflowId);
  if (!status) {
    throw new UserError(
      'NO_SUCH_RELEASE',
      `no workflow ${workflowId}`,
      'check the repository and version with `release-flow status`',
    );
  }
  return status;
}
