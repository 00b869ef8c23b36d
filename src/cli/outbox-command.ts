/**
 * `release-flow outbox [--json]`: the webhook starts waiting for Temporal, read straight from
 * the outbox file (works while Temporal and the receiver are down, which is when it matters).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load';
import { Outbox, outboxPath, type OutboxEntry } from '../http/webhooks/outbox';
import type { CliContext } from './context';

export interface OutboxListing {
  file: string;
  waiting: number;
  entries: OutboxEntry[];
}

export function readOutbox(stateDir: string): OutboxListing {
  const file = outboxPath(stateDir);
  if (!fs.existsSync(file)) return { file, waiting: 0, entries: [] };
  const outbox = Outbox.open(file, { create: false });
  try {
    const entries = outbox.list();
    return { file, waiting: entries.length, entries };
  } finally {
    outbox.close();
  }
}

export function renderOutbox(listing: OutboxListing): string {
  if (listing.waiting === 0) return `outbox ${listing.file}: empty, nothing waits`;
  const lines = [`outbox ${listing.file}: ${listing.waiting} start(s) wait for Temporal`];
  listing.entries.forEach((e, i) => {
    const more = e.deliveries > 1 ? ` (+${e.deliveries - 1} more)` : '';
    lines.push(
      `  ${i + 1}. ${e.workflowId}  ${e.event} delivery ${e.delivery}${more}, received ${e.receivedAt}`,
    );
    lines.push(
      `     attempts ${e.attempts}, next ${e.nextAttemptAt}${e.lastError ? `, last error: ${e.lastError}` : ''}`,
    );
  });
  return lines.join('\n');
}

export function registerOutboxCommand(program: Command, ctx: CliContext): void {
  program
    .command('outbox')
    .description('list webhook starts waiting in the outbox for Temporal to come back')
    .option('--json', 'print JSON')
    .option(
      '--state-dir <dir>',
      'state directory holding webhook-outbox.sqlite (default: stateDir of the config)',
    )
    .option('-c, --config <file>', 'configuration file')
    .action((opts: { json?: boolean; stateDir?: string; config?: string }) => {
      const stateDir = path.resolve(opts.stateDir ?? loadConfig({ file: opts.config }).config.stateDir);
      const listing = readOutbox(stateDir);
      ctx.out(opts.json ? JSON.stringify(listing, null, 2) : renderOutbox(listing));
    });
}
