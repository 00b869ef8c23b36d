/**
 * Masking as the second line: secret values and their base64 forms are replaced in log text,
 * activity results and activity failures, whatever printed them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityExecuteInput } from '@temporalio/worker';
import { maskDeep, maskSecrets, registerSecretNames, secretEnvNames } from '../../src/common/secrets';
import { validateConfig } from '../../src/config/load';
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

describe('secret names of a configuration', () => {
  const config = validateConfig(
    {
      integrations: {
        alerts: {
          channels: { chat: { type: 'slack', botTokenEnv: 'TEAM_SLACK_BOT', channel: '#releases' } },
        },
        apm: {
          prom: { type: 'prometheus', url: 'http://127.0.0.1:9090', auth: { bearerTokenEnv: 'PROM_TOKEN' } },
        },
      },
      repositories: [
        { name: 'shop', commands: { deploy: { dev: ['true'], variables: ['CLOUD_ROLE_TOKEN'] } } },
      ],
    },
    {},
  );

  it("every variable an integration names, Jira's, Slack's and a deploy's are secret names", () => {
    const names = secretEnvNames(config);
    for (const name of [
      'TEAM_SLACK_BOT',
      'PROM_TOKEN',
      'CLOUD_ROLE_TOKEN',
      'SLACK_SIGNING_SECRET',
      'SLACK_BOT_TOKEN',
      'JIRA_API_TOKEN',
      'CONFLUENCE_API_TOKEN',
    ])
      assert.ok(names.includes(name), name);
  });

  it('their values are masked once the worker registers them', () => {
    const held = { TEAM_SLACK_BOT: 'xoxb-team-bot-token-1234', PROM_TOKEN: 'prom-bearer-5678' };
    assert.equal(maskSecrets(`a ${held.TEAM_SLACK_BOT}`, held), `a ${held.TEAM_SLACK_BOT}`);
    registerSecretNames(secretEnvNames(config));
    assert.equal(maskSecrets(`a ${held.TEAM_SLACK_BOT} b ${held.PROM_TOKEN}`, held), 'a **** b ****');
  });

  it("a deploy command is never given the worker's own secret", () => {
    assert.throws(
      () =>
        validateConfig(
          {
            integrations: {
              apm: { dd: { type: 'datadog', errorQuery: 'e', requestQuery: 'r', apiKeyEnv: 'DD_KEY' } },
            },
            repositories: [
              {
                name: 'shop',
                commands: { deploy: { dev: ['true'], variables: ['GITHUB_TOKEN', 'DD_KEY'] } },
              },
            ],
          },
          {},
        ),
      (err: Error) =>
        /commands\.deploy\.variables: got "GITHUB_TOKEN": the worker's own secret/.test(err.message) &&
        /got "DD_KEY"/.test(err.message),
    );
  });
});
