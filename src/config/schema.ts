/**
 * The configuration file's shape. Every object is strict: an unknown key is an error, because a
 * typo'd option silently ignored is a release that behaves unlike its owner thinks.
 * Secrets are never here: they come from environment variables (see secrets.ts).
 */
import { z } from 'zod';
import { parseDuration } from '../common/duration';
import { DEFAULT_RELEASE_TAG_PATTERN } from '../domain/release-tags';
import { integrationsSchema, repositoryIntegrationsSchema } from './integrations-schema';

const duration = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'expected a duration such as "30s", "5m" or "2h"');

/** One command: an argument array (`[npm, test]`), or with a name and its own time limit. */
const commandStep = z.union([
  z.array(z.string().min(1)).min(1),
  z.strictObject({
    name: z.string().min(1).optional(),
    argv: z.array(z.string().min(1)).min(1),
    timeout: duration.optional(),
  }),
]);

const commands = z
  .strictObject({
    /** Run in a clean worktree at the commit; must produce `artifact`. */
    build: z.array(commandStep).default([]),
    unitTests: z.array(commandStep).default([]),
    /** Run against an environment: RELEASE_FLOW_ENV and RELEASE_FLOW_VERSION tell which. */
    integrationTests: z.array(commandStep).default([]),
    /**
     * Run on every deploy and rollback of that environment (helm, kubectl, a script), with
     * RELEASE_FLOW_ACTION, _ENV, _VERSION, _DIGEST, _ARTIFACT, _FENCING_TOKEN set; without one the local state
     * file is the deployment.
     */
    deploy: z
      .strictObject({
        dev: z.array(z.string().min(1)).min(1).optional(),
        staging: z.array(z.string().min(1)).min(1).optional(),
        production: z.array(z.string().min(1)).min(1).optional(),
        /**
         * The worker's variables a deploy command is given (KUBECONFIG, AWS_ROLE_ARN ...): it
         * gets these and nothing else of the worker's environment, and never the worker's own
         * secrets (docs/threat-model.md).
         */
        variables: z
          .array(
            z
              .string()
              .regex(
                /^[A-Za-z_][A-Za-z0-9_]*$/,
                'expected the name of an environment variable such as "KUBECONFIG"',
              ),
          )
          .default([]),
        /**
         * Files and directories of the worker a deploy command reads (a kubeconfig, a cloud
         * role's token file), absolute paths: given read-only at the same path, readable by
         * sandbox.user (bubblewrap).
         */
        files: z
          .array(z.string().regex(/^\//, 'expected an absolute path such as "/etc/release-flow/kubeconfig"'))
          .default([]),
      })
      .prefault({}),
  })
  .prefault({});

// GitHub's own rule for logins: alphanumerics and single hyphens, at most 39 characters.
const githubLogin = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/, 'expected a GitHub login such as "octocat"');

/**
 * How a repository is served by GitHub (docs/integrations.md "GitHub"). Whether it is at all is decided by
 * `githubSelection` (src/composition/github-selection.ts): `enabled` when given, else GitHub credentials in
 * the worker's environment and an `OWNER/REPO` name.
 */
const github = z
  .strictObject({
    enabled: z.boolean().optional(),
    /** `HOT-<n>` issues: labels besides `release-flow`, and the logins assigned to each. */
    tickets: z
      .strictObject({
        labels: z.array(z.string().min(1)).default([]),
        assignees: z.array(githubLogin).default([]),
      })
      .prefault({}),
    /**
     * Retrospective pages: `wiki` writes the repository's GitHub wiki (a git repository next to
     * it); `contents` writes markdown files into `folder` on `branch` through the contents API.
     */
    wiki: z
      .strictObject({
        mode: z.enum(['wiki', 'contents']).default('wiki'),
        folder: z.string().min(1).optional(),
        branch: z.string().min(1).optional(),
      })
      .prefault({}),
  })
  .prefault({});

const siteUrl = z.url({
  protocol: /^https?$/,
  error: 'expected an http(s) URL such as "https://acme.atlassian.net"',
});

/**
 * `HOT-<n>` and `ROLLBACK-<n>` tickets as Jira issues (docs/integrations.md "Jira and Confluence"); the
 * credentials come from JIRA_EMAIL + JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center).
 */
const jira = z.strictObject({
  url: siteUrl,
  /** `cloud` speaks REST v3 (descriptions in Atlassian Document Format), `data-center` REST v2 (wiki markup). */
  deployment: z.enum(['cloud', 'data-center']).default('cloud'),
  project: z.string().regex(/^[A-Z][A-Z0-9_]+$/, 'expected a Jira project key such as "OPS"'),
  issueType: z.string().min(1).default('Bug'),
  /** Priority names by decision: an emergency is the highest. */
  priorities: z
    .strictObject({
      emergency: z.string().min(1).default('Highest'),
      rollback: z.string().min(1).default('High'),
    })
    .prefault({}),
  /** More labels on every ticket (besides `release-flow` and the `HOT-<n>` id). */
  labels: z.array(z.string().regex(/^\S+$/, 'Jira labels cannot contain spaces')).default([]),
  /** The transition, by name, that closes a ticket when the incident closes. */
  doneTransition: z.string().min(1).default('Done'),
  /** The PR gate checks that the branch's TICKET-ID exists in Jira and is not done. */
  prGate: z.boolean().default(false),
});

/** Retrospective pages in Confluence Cloud (REST v2, storage format). */
const confluence = z.strictObject({
  /** The wiki root: `https://acme.atlassian.net/wiki`. */
  url: siteUrl,
  space: z.string().regex(/^~?[A-Za-z0-9]+$/, 'expected a Confluence space key such as "OPS"'),
  /** The id of the page the retrospectives go under (the number in its URL). */
  parentPageId: z.string().regex(/^\d+$/, 'expected a page id such as "123456"'),
});

const repository = z.strictObject({
  /** Owner/name as GitHub spells it, or any unique name for a local repository. */
  name: z.string().min(1),
  /** Local path of the repository (local git adapter). */
  path: z.string().min(1).optional(),
  defaultBranch: z.string().min(1).default('main'),
  /** `v` + semver core without leading zeros by default; a custom one is checked (load.ts). */
  releaseTagPattern: z.string().default(DEFAULT_RELEASE_TAG_PATTERN),
  preset: z.enum(['angular', 'conventionalcommits']).default('angular'),
  /** Wait for a `promote` decision between staging and production instead of handing off. */
  requirePromote: z.boolean().default(false),
  commands,
  /**
   * Which pull requests the gate builds and unit-tests (`release-flow/build`): a build runs the
   * head's own code on the worker, with the worker's rights. `same-repository` (default): branches
   * of the repository, whose authors can push to it anyway; `all`: forks too; `none`: no build.
   */
  pullRequestBuilds: z.enum(['same-repository', 'all', 'none']).default('same-repository'),
  /** The file the build leaves in the checkout (relative path): what the registry stores. */
  artifact: z.string().min(1).optional(),
  /** The production health watch (docs/pipelines-and-decisions.md "Release rules": health verdict). */
  health: z
    .strictObject({
      window: duration.optional(),
      sampleInterval: duration.optional(),
      maxErrorRate: z.number().min(0).max(1).optional(),
      minRequests: z.number().int().min(0).optional(),
      consecutiveBadSamples: z.number().int().min(1).optional(),
      consecutiveQueryErrors: z.number().int().min(1).optional(),
      minJudgedSamples: z.number().int().min(0).optional(),
    })
    .prefault({}),
  /** While a production decision is awaited: page again, then page operations. */
  escalation: z
    .strictObject({
      realertAfter: duration.optional(),
      escalateAfter: duration.optional(),
      developmentTeam: z.string().min(1).optional(),
      operationsTeam: z.string().min(1).optional(),
    })
    .prefault({}),
  /** Who may take each decision (names, or `team:<name>` from `teams`); absent: anyone. */
  deciders: z
    .strictObject({
      emergency: z.array(z.string().min(1)).optional(),
      rollback: z.array(z.string().min(1)).optional(),
      failForward: z.array(z.string().min(1)).optional(),
      teams: z.record(z.string(), z.array(z.string().min(1))).optional(),
    })
    .optional(),
  timeouts: z
    .strictObject({
      build: duration.default('30m'),
      unitTests: duration.default('30m'),
      integrationTests: duration.default('30m'),
    })
    .prefault({}),
  github,
  jira: jira.optional(),
  confluence: confluence.optional(),
  /** Which APM, registry and alert channels of `integrations` this repository uses (docs/integrations.md "Integrations"). */
  integrations: repositoryIntegrationsSchema,
});

/**
 * The release board and its decision doors (docs/board.md): who a person is
 * (`auth`), and which Slack user is which decider (`slack`).
 */
const board = z
  .strictObject({
    auth: z
      .strictObject({
        /** `none`: the board is read-only; `proxy`: a header set by an authenticating proxy; `tokens`: per-person tokens. */
        mode: z.enum(['none', 'proxy', 'tokens']).default('none'),
        /** `open`: anyone who reaches the server reads the board; `login`: only signed-in people. */
        read: z.enum(['open', 'login']).default('open'),
        /** How long a token login lasts. */
        sessionTtl: duration.default('12h'),
        proxy: z
          .strictObject({
            /** The header the proxy sets to the person's name (oauth2-proxy: X-Forwarded-User, X-Forwarded-Email). */
            header: z
              .string()
              .regex(/^[A-Za-z0-9-]+$/, 'expected a header name such as "X-Forwarded-User"')
              .default('X-Forwarded-User'),
            /** Addresses the proxy connects from; the header from any other address is ignored. */
            trustedAddresses: z.array(z.string().min(1)).default([]),
          })
          .prefault({}),
        /** People and their hashed tokens (`release-flow board hash-token`). */
        tokens: z
          .array(
            z.strictObject({
              name: z.string().min(1),
              hash: z
                .string()
                .regex(
                  /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/,
                  'expected a hash printed by `release-flow board hash-token`',
                ),
            }),
          )
          .default([]),
        /** A YAML or JSON file with more `{name, hash}` entries, read again at every login. */
        tokensFile: z.string().min(1).optional(),
      })
      .prefault({}),
    slack: z
      .strictObject({
        /** Slack user id (`U024BE7LH`) -> the decider's name as `deciders` knows it. */
        users: z.record(z.string().min(1), z.string().min(1)).default({}),
        /** Hosts a reply through an interaction's `response_url` may go to. */
        responseUrlHosts: z.array(z.string().min(1)).default(['hooks.slack.com']),
      })
      .prefault({}),
  })
  .prefault({});

export const configSchema = z.strictObject({
  temporal: z
    .strictObject({
      taskQueue: z.string().min(1).default('release-flow'),
      /**
       * Where people open the Temporal UI (`http://localhost:8080`, Temporal Cloud's), for the
       * "Details" links of commit statuses and alerts; default: the embedded dev server's UI.
       */
      uiUrl: z
        .url({ protocol: /^https?$/, error: 'expected an http(s) URL such as "http://localhost:8080"' })
        .optional(),
      /** Only used when TEMPORAL_ADDRESS is unset: the embedded dev server. */
      devServer: z
        .strictObject({
          // 0: a free port chosen at start (retried with another if taken before the server binds it).
          port: z.number().int().min(0).max(65535).default(7233),
          uiPort: z.number().int().min(0).max(65535).default(8233),
          dbFile: z.string().default('.release-flow/temporal.db'),
        })
        .prefault({}),
    })
    .prefault({}),
  server: z
    .strictObject({
      port: z.number().int().min(0).max(65535).default(3000),
      host: z.string().default('127.0.0.1'),
      /**
       * How people reach this server, for links in commit statuses (build logs). Default
       * `http://<host>:<port>`; set it when the server sits behind a proxy or a public name.
       */
      publicUrl: z
        .string()
        .regex(
          /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/,
          'expected an http(s) URL such as "https://ci.example.com"',
        )
        .optional(),
      /** What one client may hold (docs/webhooks.md: hostile load). */
      limits: z
        .strictObject({
          requestTimeout: duration.default('20s'),
          headersTimeout: duration.default('10s'),
          keepAliveTimeout: duration.default('5s'),
          maxRequestsPerSocket: z.number().int().min(1).default(1000),
          maxConnections: z.number().int().min(1).default(1024),
          /** Webhook bodies read at once before their signature is checked; more get 503. */
          unverifiedBodies: z.number().int().min(1).default(64),
          /** Bytes of such bodies held at once; more get 503 with Retry-After. */
          unverifiedBodyBytes: z
            .number()
            .int()
            .min(1024 * 1024)
            .default(64 * 1024 * 1024),
          /** Longest wait for Temporal to start a delivery's run before it is queued in the outbox. */
          webhookStartTimeout: duration
            .refine(
              (d) => parseDuration(d) <= 9_000,
              'expected at most "9s": GitHub gives up on a delivery that is not answered within 10 s',
            )
            .default('3s'),
          /** Starts waited on at once; further deliveries go straight to the outbox (202 queued). */
          webhookStartsInFlight: z.number().int().min(1).default(8),
        })
        .prefault({}),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      /** host:port for the SDK's Prometheus endpoint (/metrics); off when absent. */
      prometheusBindAddress: z
        .string()
        .regex(/^[^:\s]+:\d+$/, 'expected host:port such as "0.0.0.0:9464"')
        .optional(),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    })
    .prefault({}),
  stateDir: z.string().default('.release-flow'),
  /**
   * Where build, test and deploy steps run (docs/threat-model.md): `auto` is bubblewrap whenever
   * a configured repository has a step; only `none` runs steps as the worker.
   */
  sandbox: z
    .strictObject({
      mode: z.enum(['auto', 'bubblewrap', 'user', 'command', 'none']).default('auto'),
      user: z
        .string()
        .regex(/^\d+:\d+$/, 'expected uid:gid such as "65534:65534"')
        .default('65534:65534'),
      network: z.boolean().default(false),
      command: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  repositories: z.array(repository).default([]),
  /** Real APM sources, alert channels and an OCI registry (docs/integrations.md "Integrations"). */
  integrations: integrationsSchema,
  timeouts: z
    .strictObject({
      /** How long to keep retrying an unreachable TEMPORAL_ADDRESS before giving up. */
      connect: duration.default('30s'),
    })
    .prefault({}),
  board,
});

export type Config = z.output<typeof configSchema>;
export type RepositoryConfig = Config['repositories'][number];
