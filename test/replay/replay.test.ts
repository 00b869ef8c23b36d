import '../helpers/runtime';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundle } from '../helpers/temporal-env';

const historiesDir = path.join(__dirname, 'histories');
const brokenDir = path.join(__dirname, 'broken');

/**
 * Fixture files hold a recorded history as `temporal workflow show --output json` exports it,
 * plus the workflow id it ran under; the replayer reads that JSON form itself.
 */
function load(dir: string, file: string) {
  const json = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { workflowId?: string };
  return { workflowId: json.workflowId ?? file, history: json };
}

const jsonFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();

/** Histories live in a folder per registered workflow type: `histories/<workflowType>/<name>.json`. */
const workflowTypes = readdirSync(historiesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

function startedType(dir: string, file: string): string | undefined {
  const json = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
    events: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[];
  };
  return json.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
}

describe('replay of recorded histories against the bundle the worker ships', () => {
  it('every history lives in the folder named for its workflow type', () => {
    assert.ok(workflowTypes.length > 0, 'there are recorded histories');
    assert.deepEqual(jsonFiles(historiesDir), [], 'no history outside a workflow type folder');
    const misplaced = workflowTypes.flatMap((type) =>
      jsonFiles(path.join(historiesDir, type))
        .filter((f) => startedType(path.join(historiesDir, type), f) !== type)
        .map((f) => `${type}/${f}`),
    );
    assert.deepEqual(misplaced, []);
  });

  for (const type of workflowTypes) {
    it(`every ${type} history under test/replay/histories replays without a determinism error`, async () => {
      const dir = path.join(historiesDir, type);
      const files = jsonFiles(dir);
      assert.ok(files.length > 0, `there are recorded ${type} histories`);
      const results = Worker.runReplayHistories(
        { workflowBundle: await workflowBundle() },
        files.map((f) => load(dir, f)),
      );
      const failures: string[] = [];
      let count = 0;
      for await (const r of results) {
        count += 1;
        if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
      }
      assert.equal(count, files.length);
      assert.deepEqual(failures, []);
    });
  }

  for (const file of jsonFiles(brokenDir)) {
    it(`the check bites: ${file} (deliberately broken) fails with a determinism error`, async () => {
      const { workflowId, history } = load(brokenDir, file);
      await assert.rejects(
        Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId),
        DeterminismViolationError,
      );
    });
  }
});
