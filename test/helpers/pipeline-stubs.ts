/**
 * Stub pipeline activities for workflow tests: every call is recorded, and a test replaces
 * single activities through `overrides` between runs (the worker resolves them per call).
 */
import type { PipelineActivities } from '../../src/activities/pipeline';
import type { CommitStatusRequest } from '../../src/activities/statuses';

export type Calls = { name: string; input: unknown }[];

/** Commit statuses kept apart from `calls`, so tests of the steps' order need not list them. */
export type PostedStatuses = CommitStatusRequest[];

function defaults(calls: Calls, statuses: PostedStatuses): Partial<PipelineActivities> {
  const record =
    <I, O>(name: string, out: (input: I) => O) =>
    async (input: I): Promise<O> => {
      calls.push({ name, input });
      return out(input);
    };
  const env = (name: string) => ({ env: name, current: null, previous: null, lastGood: null, history: [] });
  return {
    repositorySettings: record('repositorySettings', () => ({
      requirePromote: false,
      releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$',
      searchAttributes: false,
    })),
    buildArtifact: record('buildArtifact', () => ({
      file: '/tmp/app.tgz',
      log: '/tmp/build.log',
      durationMs: 1200,
    })),
    runTests: record('runTests', () => ({ log: '/tmp/t.log', durationMs: 10, reused: false })),
    uploadArtifact: record('uploadArtifact', (i: { repository: string; commit: string }) => ({
      repository: 'dev' as const,
      artifact: i.repository,
      tag: i.commit,
      digest: `sha256:${'a'.repeat(64)}` as const,
      size: 10,
      uri: '/x',
      created: true,
    })),
    tagArtifact: record('tagArtifact', (i: { repository: string; version: string }) => ({
      repository: 'dev' as const,
      artifact: i.repository,
      tag: i.version,
      digest: `sha256:${'a'.repeat(64)}` as const,
      size: 10,
      uri: '/x',
      created: true,
    })),
    deployVersion: record('deployVersion', (i: { env: string }) => ({
      changed: true,
      note: 'deployed',
      state: env(i.env),
    })),
    markGood: record('markGood', (i: { env: string }) => ({
      changed: true,
      note: 'marked good',
      state: env(i.env),
    })),
    rollbackEnvironment: record('rollbackEnvironment', (i: { env: string }) => ({
      changed: true,
      note: 'rolled back',
      state: {
        ...env(i.env),
        current: { version: 'v1.0.0', digest: null, artifactUri: null, at: 0, by: 'x' },
      },
    })),
    markBad: record('markBad', (i: { envs: string[]; version: string }) => ({
      notes: i.envs.map((e) => `${i.version} is marked bad in ${e}`),
    })),
    computeNextVersion: record('computeNextVersion', () => ({
      next: 'v1.3.0',
      version: '1.3.0',
      bump: 'minor',
      lastTag: 'v1.2.0',
      commitCount: 2,
      releasing: [],
      warnings: [],
    })),
    createReleaseTag: record('createReleaseTag', () => ({ created: true })),
    // Dev runs nothing yet, and the tag's push (a webhook) starts the tag pipeline, unless a test says otherwise.
    compareWithDev: record('compareWithDev', () => ({ devRuns: null, newer: false })),
    checkTagPipelineStart: record('checkTagPipelineStart', () => ({
      start: false,
      reason: 'GitHub serves it: the push of the tag starts it',
      searchAttributes: false,
    })),
    notifyPipelineFailure: record('notifyPipelineFailure', () => ({ sent: true, sentAt: 0 })),
    // Production: a healthy APM unless a test overrides measureHealth.
    promoteArtifact: record('promoteArtifact', (i: { repository: string; version: string }) => ({
      repository: 'prod' as const,
      artifact: i.repository,
      tag: i.version,
      digest: `sha256:${'b'.repeat(64)}` as const,
      size: 10,
      uri: '/prod',
      created: true,
    })),
    measureHealth: record('measureHealth', (i: { to: number }) => ({ at: i.to, requests: 600, errors: 0 })),
    pageReleaseAlert: record('pageReleaseAlert', () => ({ sent: true, sentAt: 0 })),
    resolveReleaseAlerts: record('resolveReleaseAlerts', () => ({ deliveries: [] })),
    openIncidentTicket: record('openIncidentTicket', () => ({
      id: 'HOT-1',
      url: 'file:///tickets/HOT-1.md',
      created: true,
    })),
    publishRetrospective: record('publishRetrospective', (i: { page: { id: string } | { kind: string } }) => {
      const id = 'id' in i.page ? i.page.id : 'ROLLBACK-1';
      return { id, url: `file:///wiki/${id}.md`, created: true };
    }),
    createHotfixBranch: record('createHotfixBranch', () => ({ created: true, commit: 'cd'.repeat(20) })),
    hotfixOfVersion: record('hotfixOfVersion', () => null),
    recordIncident: record(
      'recordIncident',
      (i: { id: string; repository: string; brokenVersion: string }) => ({
        id: i.id,
        state: 'open' as const,
        brokenVersion: i.brokenVersion,
        branch: i.id,
        ticketUrl: `file:///tickets/${i.id}.md`,
        wikiUrl: `file:///wiki/${i.id}.md`,
      }),
    ),
    reserveIncident: record('reserveIncident', (i: { repository: string; brokenVersion: string }) => ({
      id: 'HOT-1',
      state: 'open' as const,
      brokenVersion: i.brokenVersion,
      branch: 'HOT-1',
      ticketUrl: '',
      wikiUrl: '',
    })),
    linkIncidentDocuments: record(
      'linkIncidentDocuments',
      (i: { id: string; ticketUrl?: string; wikiUrl?: string }) => ({
        id: i.id,
        state: 'open' as const,
        brokenVersion: 'v1.2.0',
        branch: i.id,
        ticketUrl: i.ticketUrl ?? '',
        wikiUrl: i.wikiUrl ?? '',
      }),
    ),
    incidentOfBranch: record('incidentOfBranch', (i: { id: string }) => ({
      id: i.id,
      state: 'releasing' as const,
      brokenVersion: 'v1.2.0',
      branch: i.id,
      ticketUrl: `file:///tickets/${i.id}.md`,
      wikiUrl: `file:///wiki/${i.id}.md`,
    })),
    commentOnIncident: record('commentOnIncident', () => ({ added: true })),
    planHotfix: record('planHotfix', (i: { id: string }) => ({
      id: i.id,
      version: 'v1.2.1',
      brokenVersion: 'v1.2.0',
      commitCount: 1,
    })),
    closeIncident: record('closeIncident', () => ({
      pullRequest: { number: 7, url: 'https://github.example/acme/app/pull/7' },
      pullRequestNote: 'opened #7',
      ticketClosed: true,
      wikiUpdated: true,
    })),
    postCommitStatus: async (input) => {
      statuses.push(input);
      return { posted: true };
    },
  };
}

export function pipelineStubs() {
  const state = {
    calls: [] as Calls,
    statuses: [] as PostedStatuses,
    overrides: {} as Partial<PipelineActivities>,
  };
  const names = Object.keys(defaults([], []));
  const activities = Object.fromEntries(
    names.map((name) => [
      name,
      (input: unknown) => {
        const fn = (
          { ...defaults(state.calls, state.statuses), ...state.overrides } as Record<
            string,
            (i: unknown) => unknown
          >
        )[name]!;
        return fn(input);
      },
    ]),
  );
  return {
    activities,
    get calls() {
      return state.calls;
    },
    /** Commit statuses posted since the last reset, in order. */
    get statuses() {
      return state.statuses;
    },
    reset(overrides: Partial<PipelineActivities> = {}) {
      state.calls = [];
      state.statuses = [];
      state.overrides = overrides;
    },
    setOverrides(overrides: Partial<PipelineActivities>) {
      state.overrides = overrides;
    },
    /** Names of the calls so far, in order. */
    names: () => state.calls.map((c) => c.name),
  };
}
