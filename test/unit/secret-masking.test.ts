/**
 * Masking as the second line: secret values and their base64 forms are replaced in log text,
 * activity results and activity failures, whatever printed them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityExecuteInput } from '@temporalio/worker';
import { maskDeep, maskSecrets } from '../../src/common/secrets';
import { maskingInterceptor } from '../../src/temporal/masking-interceptor';

const TOKEN = 'ghp_sEcReT0123456789abcdefghij';
const HOOK = 'webhook-secret-value-42';
const env = { GITHUB_TOKEN: TOKEN, GITHUB_WEBHOOK_SECRET: HOOK };
const b64 = (s: string) => Buffer.from(s).toString('base64');

function execute(next: () => Promise<unknown>): Promise<unknown> {
  const { inbound } = maskingInterceptor(env)({} as never);
  return inbound!.execute!({ args: [], headers: {} } as unknown as ActivityExecuteInput, next);
}

describe('secret masking', () => {
  it('masks values and their base64 and base64url forms, padded or not', () => {
    const text = `t=${TOKEN} b=${b64(TOKEN)} u=${Buffer.from(HOOK).toString('base64url')} p=${b64(HOOK).replace(/=+$/, '')}`;
    const masked = maskSecrets(text, env);
    assert.equal(masked, 't=**** b=**** u=**** p=****');
  });

  it('masks every string inside a result, nested in arrays and objects', () => {
    const masked = maskDeep({ tail: `leak ${TOKEN}`, steps: [{ log: b64(HOOK) }], n: 3, ok: true }, env);
    assert.deepEqual(masked, { tail: 'leak ****', steps: [{ log: '****' }], n: 3, ok: true });
  });

  it('an activity result leaves the worker masked', async () => {
    const result = await execute(async () => ({ build: { tail: `env: GITHUB_TOKEN=${TOKEN}` } }));
    assert.deepEqual(result, { build: { tail: 'env: GITHUB_TOKEN=****' } });
  });

  it('an activity failure keeps its type and retryability, message and details masked', async () => {
    await assert.rejects(
      execute(async () => {
        throw ApplicationFailure.nonRetryable(`build failed: ${HOOK}`, 'BuildFailed', { tail: b64(HOOK) });
      }),
      (err: ApplicationFailure) => {
        assert.equal(err.type, 'BuildFailed');
        assert.equal(err.nonRetryable, true);
        assert.equal(err.message, 'build failed: ****');
        assert.deepEqual(err.details, [{ tail: '****' }]);
        assert.doesNotMatch(err.stack ?? '', new RegExp(HOOK));
        return true;
      },
    );
    await assert.rejects(
      execute(async () => {
        throw new Error(`deploy: ${TOKEN}`);
      }),
      /^Error: deploy: \*\*\*\*$/,
    );
  });
});
