/**
 * The chaos suite's worker: the real worker (createWorker: real activities, local adapters,
 * attempt journal) from a prebuilt workflow bundle, so a restart takes seconds, plus a kill
 * switch. When the suite names a path in CHAOS_DIR/current, the first time an activity key is
 * seen there (key: scope/workflow family/activity type/phase), the key is journaled and the
 * process SIGKILLs itself: `start` right after the activity starts, and for activities with an
 * effect also `done`, after the effect but before Temporal hears of it (the case exactly-once
 * must survive).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/common/logging';
import { connectClient, connectNative, externalTarget } from '../../src/temporal/connection';
import { createWorker, installRuntime } from '../../src/worker';

const chaosDir = process.env.CHAOS_DIR!;
const killsFile = path.join(chaosDir, 'kills.jsonl');

interface Current {
  path: string;
  /** `path`: every path is its own scope; `family`: a key killed in one path is not killed again. */
  scope: 'path' | 'family';
  phases: ('start' | 'done')[];
}

function current(): Current | null {
  try {
    return JSON.parse(readFileSync(path.join(chaosDir, 'current'), 'utf8')) as Current;
  } catch {
    return null;
  }
}

function killed(): Set<string> {
  try {
    return new Set(
      readFileSync(killsFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { key: string }).key),
    );
  } catch {
    return new Set();
  }
}

/** Activities whose effect a person would count (tag, upload, deploy, ticket, page, branch, alert). */
const EFFECTFUL =
  /tag|upload|deploy|rollback|ticket|page|branch|alert|notify|incident|retrospective|hotfix|record/i;

function maybeDie(phase: 'start' | 'done', workflowId: string, activityType: string, attempt: number): void {
  const now = current();
  if (!now || !now.phases.includes(phase)) return;
  // After the effect, before the result reaches Temporal: only where there is an effect to repeat.
  if (phase === 'done' && !EFFECTFUL.test(activityType)) return;
  const family = workflowId.split(':')[0] ?? workflowId;
  const key = `${now.scope === 'path' ? now.path : '*'}/${family}/${activityType}/${phase}`;
  if (killed().has(key)) return;
  appendFileSync(
    killsFile,
    `${JSON.stringify({ key, path: now.path, family, activityType, phase, workflowId, attempt, at: Date.now() })}\n`,
  );
  process.kill(process.pid, 'SIGKILL');
}

const killSwitch: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const { activityType, attempt } = ctx.info;
      const workflowId = ctx.info.workflowExecution?.workflowId ?? '';
      maybeDie('start', workflowId, activityType, attempt);
      const result = await next(input);
      maybeDie('done', workflowId, activityType, attempt);
      return result;
    },
  },
});

async function main(): Promise<void> {
  const { config } = loadConfig();
  const logger = createLogger(config.log.level);
  installRuntime(config, logger);
  const target = externalTarget()!;
  const retry = { timeoutMs: 120_000 };
  const connection = await connectNative(target, retry);
  const client = await connectClient(target, retry);
  const worker = await createWorker({
    connection,
    client,
    namespace: target.namespace,
    taskQueue: config.temporal.taskQueue,
    stateDir: config.stateDir,
    config,
    workflowBundle: { codePath: process.env.CHAOS_BUNDLE! },
    activityInterceptors: [killSwitch],
  });
  process.once('SIGTERM', () => worker.shutdown());
  process.stdout.write('ready\n');
  await worker.run();
  await client.connection.close();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
