/**
 * The pipeline benchmark's worker, run in its own process so its memory can be measured alone:
 * stub pipeline activities that do no work, the real lock activities, and the floor's
 * `doNothing`, over a prebuilt bundle of bench/bench-workflows.ts. Told what to serve through
 * PIPELINE_BENCH_WORKER (JSON); says `ready` over IPC, stops on `stop` or when the parent goes.
 */
import '../test/helpers/runtime';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { ProductionReleaseInput } from '../src/workflows/production/messages';
import { lockHarness } from '../test/helpers/lock-harness';
import { pipelineStubs } from '../test/helpers/pipeline-stubs';
import type { BareActivities } from './bare-release-workflow';

export interface PipelineWorkerSpec {
  address: string;
  namespace: string;
  taskQueue: string;
  /** The workflow bundle's code, written by the benchmark. */
  bundlePath: string;
  /** What repositorySettings hands to production (a short health watch). */
  production: Pick<ProductionReleaseInput, 'health'>;
}

export type PipelineWorkerMessage = { ready: true } | { failed: string };

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.PIPELINE_BENCH_WORKER ?? '') as PipelineWorkerSpec;
  const connection = await NativeConnection.connect({ address: spec.address });
  const clientConnection = await Connection.connect({ address: spec.address });
  const client = new Client({ connection: clientConnection, namespace: spec.namespace });
  const stubs = pipelineStubs();
  stubs.setOverrides({
    repositorySettings: async () => ({
      requirePromote: false,
      releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$',
      searchAttributes: false,
      production: spec.production,
    }),
  });
  const bare: BareActivities = { async doNothing() {} };
  const worker = await Worker.create({
    connection,
    namespace: spec.namespace,
    taskQueue: spec.taskQueue,
    workflowBundle: { codePath: spec.bundlePath },
    activities: { ...stubs.activities, ...lockHarness(client).activities, ...bare },
    // As src/worker.ts sets it.
    maxHeartbeatThrottleInterval: '5 seconds',
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    worker.shutdown();
  };
  process.on('message', (m) => m === 'stop' && stop());
  process.on('disconnect', stop);
  const running = worker.run();
  process.send?.({ ready: true } satisfies PipelineWorkerMessage);
  await running;
  await clientConnection.close();
  await connection.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    if (process.connected) process.send?.({ failed: String(err) } satisfies PipelineWorkerMessage);
    console.error(err);
    process.exit(1);
  },
);
