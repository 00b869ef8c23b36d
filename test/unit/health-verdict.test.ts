import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  healthParameterProblems,
  judgeHealth,
  type HealthParameters,
  type HealthSample,
} from '../../src/domain/health-verdict';

const parameters: HealthParameters = {
  maxErrorRate: 0.05,
  minRequests: 100,
  consecutiveBadSamples: 3,
  consecutiveQueryErrors: 2,
  minJudgedSamples: 3,
};
const window = { start: 0, end: 600_000 };
const ok = (at: number): HealthSample => ({ at, requests: 1000, errors: 10 });
const bad = (at: number): HealthSample => ({ at, requests: 1000, errors: 200 });
const quiet = (at: number): HealthSample => ({ at, requests: 10, errors: 10 });
const failed = (at: number): HealthSample => ({ at, queryError: 'timeout' });

describe('health verdicts', () => {
  const table: {
    name: string;
    samples: HealthSample[];
    now: number;
    verdict: string;
    decidedAt?: number | null;
  }[] = [
    {
      name: 'good samples through the window',
      samples: [ok(1), ok(2), ok(3), ok(4)],
      now: 600_000,
      verdict: 'healthy',
    },
    {
      name: 'still inside the window',
      samples: [ok(1), ok(2)],
      now: 1000,
      verdict: 'watching',
      decidedAt: null,
    },
    {
      name: 'three bad in a row',
      samples: [ok(1), bad(2), bad(3), bad(4)],
      now: 5,
      verdict: 'breach',
      decidedAt: 4,
    },
    {
      name: 'one noisy sample pages nobody',
      samples: [bad(1), ok(2), bad(3), ok(4), bad(5)],
      now: 600_000,
      verdict: 'healthy',
    },
    {
      name: 'quiet samples neither extend nor reset a bad run',
      samples: [bad(1), quiet(2), bad(3), quiet(4), bad(5)],
      now: 6,
      verdict: 'breach',
    },
    {
      name: 'query errors do not reset a bad run',
      samples: [bad(1), failed(2), bad(3), bad(4)],
      now: 5,
      verdict: 'breach',
    },
    {
      name: 'query errors in a row are inconclusive, not a breach',
      samples: [bad(1), bad(2), failed(3), failed(4)],
      now: 5,
      verdict: 'inconclusive',
      decidedAt: 4,
    },
    {
      name: 'an answered query resets the error run',
      samples: [failed(1), ok(2), failed(3), ok(4), ok(5)],
      now: 600_000,
      verdict: 'healthy',
    },
    {
      name: 'low traffic is not an all-clear',
      samples: [quiet(1), quiet(2), ok(3), quiet(4)],
      now: 600_000,
      verdict: 'not-enough-data',
      decidedAt: 600_000,
    },
    { name: 'no samples at all', samples: [], now: 600_000, verdict: 'not-enough-data' },
    {
      name: 'samples outside the window are ignored',
      samples: [bad(-3), bad(-2), bad(-1), ok(1), ok(2), ok(3)],
      now: 600_000,
      verdict: 'healthy',
    },
    {
      name: 'samples are judged in time order',
      samples: [bad(4), ok(1), bad(3), bad(2)],
      now: 5,
      verdict: 'breach',
    },
    {
      name: 'exactly the threshold is not bad',
      samples: [1, 2, 3].map((at) => ({ at, requests: 100, errors: 5 })),
      now: 600_000,
      verdict: 'healthy',
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const result = judgeHealth({ samples: row.samples, parameters, window, now: row.now });
      assert.equal(result.verdict, row.verdict, result.reason);
      if (row.decidedAt !== undefined) assert.equal(result.decidedAt, row.decidedAt);
    });
  }

  it('counts samples and the worst rate for the alert', () => {
    const result = judgeHealth({
      samples: [ok(1), quiet(2), failed(3), bad(4)],
      parameters,
      window,
      now: 600_000,
    });
    assert.deepEqual(
      { ...result, reason: undefined },
      {
        verdict: 'not-enough-data',
        reason: undefined,
        decidedAt: 600_000,
        judgedSamples: 2,
        badSamples: 1,
        quietSamples: 1,
        queryErrors: 1,
        worstErrorRate: 0.2,
      },
    );
  });

  it('the breach reason names the threshold and the run', () => {
    const result = judgeHealth({ samples: [bad(1), bad(2), bad(3)], parameters, window, now: 4 });
    assert.equal(result.reason, 'error rate above 5% in 3 samples in a row (last 20%, 200/1000)');
  });

  it('rejects unusable parameters', () => {
    assert.deepEqual(healthParameterProblems(parameters), []);
    assert.equal(
      healthParameterProblems({ ...parameters, maxErrorRate: 5, consecutiveBadSamples: 0 }).length,
      2,
    );
  });
});
