/**
 * `release-flow lock status [RESOURCE] [--json]`, the operator escape hatch
 * `release-flow lock release RESOURCE --force --by NAME --reason TEXT`, and the mode switch
 * `release-flow lock mode staging normal|hotfix-only --by NAME --reason TEXT` (ends or starts
 * hotfix-only mode by hand; recorded).
 */
import type { Command } from 'commander';
import { UserError } from '../common/errors';
import { readQuery, sendUpdate, startLockWithSignal } from '../starter';
import {
  changeModeUpdate,
  forceReleaseUpdate,
  setModeSignal,
  isValidLockResource,
  lockWorkflowId,
  statusQuery,
  type LockStatus,
  type ModeChangeResult,
} from '../workflows/lock/messages';
import type { CliContext } from './context';
import { withTemporalClient } from './temporal-client';

function checkResource(resource: string): string {
  if (!isValidLockResource(resource))
    throw new UserError(
      'LOCK_RESOURCE_INVALID',
      `"${resource}" is not a lock resource`,
      'use `staging` or `repo:<owner>/<name>`',
    );
  return resource;
}

/** The status of a lock that has never been used (no workflow yet). */
function unusedStatus(resource: string): LockStatus {
  return {
    resource,
    workflowId: lockWorkflowId(resource),
    holder: null,
    queue: [],
    mode: { mode: 'normal', by: 'release-flow', reason: 'never used', since: '' },
    incidents: [],
    grants: 0,
    lastToken: 0,
    revocations: 0,
    run: 0,
    recent: [],
  };
}

export function renderLockStatus(s: LockStatus): string {
  const lines = [`lock ${s.resource} (workflow ${s.workflowId})`];
  lines.push(
    `mode: ${s.mode.mode}${s.mode.mode === 'hotfixOnly' ? ` (by ${s.mode.by}: ${s.mode.reason}, since ${s.mode.since})` : ''}`,
  );
  const holds = s.incidents ?? [];
  if (holds.length > 0) {
    lines.push(
      `held hotfix-only by: ${holds.map((h) => `${h.id} (${h.repository}, since ${h.since})`).join(', ')}`,
    );
  }
  const h = s.holder;
  lines.push(
    h
      ? `holder: ${h.workflowId} (${h.priority}) "${h.purpose}", token ${h.token}, since ${h.since}, lease until ${h.leaseUntil}`
      : 'holder: none (free)',
  );
  lines.push(`queue: ${s.queue.length === 0 ? 'empty' : s.queue.length}`);
  s.queue.forEach((q, i) =>
    lines.push(`  ${i + 1}. ${q.workflowId} (${q.priority}) "${q.purpose}", waiting since ${q.waitingSince}`),
  );
  lines.push(`grants so far: ${s.grants}, newest token: ${s.lastToken}, revocations: ${s.revocations}`);
  return lines.join('\n');
}

export function registerLockCommands(program: Command, ctx: CliContext): void {
  const lock = program.command('lock').description('show or free a lock (staging, repo:<owner>/<name>)');
  lock
    .command('status [resource]')
    .description('holder, queue, mode and grants of a lock (default: staging)')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', 'configuration file')
    .action(async (resource: string | undefined, opts: { json?: boolean; config?: string }) => {
      const res = checkResource(resource ?? 'staging');
      const status = await withTemporalClient(
        { configFile: opts.config },
        async ({ client }) =>
          (await readQuery(client, lockWorkflowId(res), statusQuery)) ?? unusedStatus(res),
      );
      ctx.out(opts.json ? JSON.stringify(status, null, 2) : renderLockStatus(status));
    });
  lock
    .command('release <resource>')
    .description('operator escape hatch: free a lock by hand, revoking its holder (recorded)')
    .option('--force', 'required: this takes the lock from a running holder')
    .requiredOption('--by <name>', 'who frees it')
    .requiredOption('--reason <text>', 'why')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', 'configuration file')
    .action(
      async (
        resource: string,
        opts: { force?: boolean; by: string; reason: string; json?: boolean; config?: string },
      ) => {
        const res = checkResource(resource);
        if (!opts.force)
          throw new UserError(
            'LOCK_RELEASE_NEEDS_FORCE',
            `freeing lock ${res} by hand revokes its holder`,
            'add --force if that is what you want',
          );
        const result = await withTemporalClient({ configFile: opts.config }, async ({ client }) => {
          const answer = await sendUpdate(client, lockWorkflowId(res), forceReleaseUpdate, {
            by: opts.by,
            reason: opts.reason,
          });
          switch (answer.kind) {
            case 'accepted':
              return answer.result;
            case 'rejected':
              throw new UserError(
                'LOCK_RELEASE_REFUSED',
                answer.reason,
                `check with \`release-flow lock status ${res}\``,
              );
            case 'unavailable':
              throw answer.error;
            default:
              throw new UserError('LOCK_NOT_HELD', `lock ${res} has never been used`, 'nothing to release');
          }
        });
        ctx.out(
          opts.json
            ? JSON.stringify(result, null, 2)
            : `released lock ${res} from ${result.released.workflowId} (token ${result.released.token}); recorded: ${result.by}: ${result.reason}`,
        );
      },
    );
  lock
    .command('mode <resource> <mode>')
    .description(
      'switch a lock to normal or hotfix-only mode (recorded); normal lets waiting releases proceed',
    )
    .requiredOption('--by <name>', 'who switches it')
    .requiredOption('--reason <text>', 'why')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', 'configuration file')
    .action(
      async (
        resource: string,
        modeArg: string,
        opts: { by: string; reason: string; json?: boolean; config?: string },
      ) => {
        const res = checkResource(resource);
        const mode = CLI_MODES[modeArg];
        if (!mode)
          throw new UserError(
            'LOCK_MODE_INVALID',
            `"${modeArg}" is not a lock mode`,
            'use `normal` or `hotfix-only`',
          );
        if (!opts.by.trim() || !opts.reason.trim())
          throw new UserError(
            'LOCK_MODE_NEEDS_WHO',
            'the mode change needs --by and --reason',
            'say who and why',
          );
        const result = await withTemporalClient({ configFile: opts.config }, async ({ client, config }) => {
          const request = { mode, by: opts.by, reason: opts.reason };
          const answer = await sendUpdate(client, lockWorkflowId(res), changeModeUpdate, request);
          if (answer.kind === 'accepted') return answer.result;
          if (answer.kind === 'rejected')
            throw new UserError('LOCK_MODE_REFUSED', answer.reason, 'check --by and --reason');
          if (answer.kind === 'unavailable') throw answer.error;
          // A lock never used yet (or its run closed): start it with the mode, as a request would.
          await startLockWithSignal(client, res, setModeSignal, request, config.temporal.taskQueue);
          const status = await readQuery(client, lockWorkflowId(res), statusQuery);
          if (!status) throw new Error(`lock ${res} did not start`);
          const before = unusedStatus(res).mode;
          return { resource: res, previous: before, mode: status.mode } satisfies ModeChangeResult;
        });
        ctx.out(
          opts.json
            ? JSON.stringify(result, null, 2)
            : `lock ${res}: ${result.previous.mode} -> ${result.mode.mode} (by ${result.mode.by}: ${result.mode.reason})`,
        );
      },
    );
}

const CLI_MODES: Record<string, 'normal' | 'hotfixOnly'> = {
  normal: 'normal',
  'hotfix-only': 'hotfixOnly',
  hotfixOnly: 'hotfixOnly',
};
