/**
 * The production topology, short: a real Temporal server on PostgreSQL, release-flow serve and
 * two workers each in its own pid and mount namespace with its own stateDir, one repository
 * released main -> tag -> staging -> production through the receiver, the worker running the
 * staging deploy SIGKILLed. Skipped (with the reason) where the server is not built: build it
 * with `npm run setup:temporal -- --server`. `npm run topology` is the long version.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runTopology, topologyPrerequisites } from '../../scripts/topology/scenario';

const missing = topologyPrerequisites();
const skip = missing.length
  ? `needs ${missing.join(', ')} (build: npm run setup:temporal -- --server)`
  : false;

describe('production topology on a real Temporal cluster', () => {
  it(
    'a worker killed during a staging deploy: the other finishes, each run starts once, each deploy happens once',
    { skip, timeout: 20 * 60_000 },
    async () => {
      const lines: string[] = [];
      const summary = await runTopology({
        repositories: 1,
        stagingDeploySeconds: 6,
        onProgress: (line) => lines.push(line),
      });
      const detail = `${summary.failures.join('\n')}\n${lines.join('\n')}\n${JSON.stringify(summary, null, 2)}`;
      assert.deepEqual(summary.failures, [], detail);
      assert.equal(summary.kills.length, 1, detail);
      const [repo] = summary.repositories;
      assert.ok(repo, detail);
      assert.deepEqual(
        repo.runs.map((r) => [r.status, r.runs]),
        [
          ['COMPLETED', 1],
          ['COMPLETED', 1],
          ['COMPLETED', 1],
        ],
        detail,
      );
      const tag = repo.runs.find((r) => r.workflowId === summary.kills[0]!.workflowId);
      const survivor = summary.processes.find(
        (p) => p.role === 'worker' && p.hostname !== summary.kills[0]!.worker,
      );
      assert.ok(tag?.workers.includes(survivor!.hostname), detail);
      assert.deepEqual(
        ['dev', 'staging', 'production'].map((env) => repo.deploys[`${env} deploy`]),
        [1, 1, 1],
        detail,
      );
      assert.equal(repo.effects.tags, 1, detail);
      // Every process stopped cleanly: the killed worker by its signal, the others by SIGTERM.
      for (const p of summary.processes)
        if (p.hostname !== summary.kills[0]!.worker) assert.equal(p.exit, 0, `${p.hostname} exit ${p.exit}`);
    },
  );
});
