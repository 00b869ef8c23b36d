import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli } from '../helpers/cli';
import { FakeConfluence } from '../helpers/fake-confluence';
import { FakeJira } from '../helpers/fake-jira';

describe('release-flow doctor with Jira and Confluence configured', () => {
  const jira = new FakeJira('data-center');
  const confluence = new FakeConfluence();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rf-doctor-'));
  const file = path.join(dir, 'release-flow.json');
  const saved: Record<string, string | undefined> = {};
  const setEnv = (vars: NodeJS.ProcessEnv) => {
    for (const [name, value] of Object.entries(vars)) {
      if (!(name in saved)) saved[name] = process.env[name];
      process.env[name] = value;
    }
  };

  before(async () => {
    await jira.start();
    await confluence.start();
    const open = jira.addIssue('OPS-1', 'HOT-1: an open incident');
    open.labels = ['release-flow', 'HOT-1'];
    open.issueType = 'Task';
    writeFileSync(
      file,
      JSON.stringify({
        repositories: [
          {
            name: 'acme/shop',
            jira: {
              url: jira.url,
              deployment: 'data-center',
              project: 'OPS',
              issueType: 'Task',
              doneTransition: 'Close',
            },
            confluence: { url: confluence.wikiUrl, space: 'OPS', parentPageId: confluence.parentId },
          },
        ],
      }),
    );
    // The address keeps the executables' lookup out of the exit code: only the checks decide it.
    setEnv({ ...jira.env(), ...confluence.env(), TEMPORAL_ADDRESS: '127.0.0.1:7233' });
  });
  after(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await jira.stop();
    await confluence.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints one line per check, names the transition the workflow lacks, and exits 1', async () => {
    const r = await cli(['doctor', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.out, /^jira project \(acme\/shop\): OK: project OPS exists$/m);
    assert.match(r.out, /^jira issue type \(acme\/shop\): OK/m);
    assert.match(r.out, /^jira writable \(acme\/shop\): OK/m);
    assert.match(
      r.out,
      /^jira transition \(acme\/shop\): FAILED: OPS-1 does not offer "Close" \(it offers: Start Progress, Done; check jira\.doneTransition\)$/m,
    );
    assert.match(r.out, /^confluence space \(acme\/shop\): OK/m);
    assert.match(r.out, /^confluence parent page \(acme\/shop\): OK/m);
    assert.ok(!r.out.includes(jira.pat), 'the token is never printed');
  });

  it('--json lists the checks under atlassian', async () => {
    writeFileSync(file, readFileSync(file, 'utf8').replace('"Close"', '"Done"'));
    const r = await cli(['doctor', '--json', '--config', file]);
    assert.equal(r.code, 0, r.out);
    const report = JSON.parse(r.out) as { atlassian: { system: string; check: string; ok: boolean }[] };
    assert.deepEqual(
      report.atlassian.map((c) => `${c.system} ${c.check} ${c.ok}`),
      [
        'jira project true',
        'jira issue type true',
        'jira writable true',
        'jira transition true',
        'confluence space true',
        'confluence parent page true',
      ],
    );
  });
});
