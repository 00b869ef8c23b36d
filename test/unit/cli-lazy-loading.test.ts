import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { buildProgram, commandGroups, groupsFor } from '../../src/cli/main';
import { projectRoot } from '../../src/common/package-info';
import { GitFixture } from '../helpers/git-fixture';

const run = promisify(execFile);
const fixture = new GitFixture();
after(() => fixture.remove());

/** Runs the CLI in a fresh process and reports which heavy packages it loaded. */
async function heavyModulesLoadedBy(argv: string[]): Promise<{ code: number; heavy: string[] }> {
  const script = `
    const { main } = require(${JSON.stringify(path.join(projectRoot, 'src', 'cli', 'main.ts'))});
    main(['node', 'release-flow', ...JSON.parse(process.argv[1])], { out: () => {}, err: () => {} }).then((code) => {
      const heavy = new Set();
      for (const file of Object.keys(require.cache)) {
        const m = /node_modules\\/(@temporalio\\/(?:client|worker)|@octokit\\/[^/]+)\\//.exec(file);
        if (m) heavy.add(m[1]);
      }
      process.stdout.write(JSON.stringify({ code, heavy: [...heavy] }));
    });`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '-e', script, JSON.stringify(argv)], {
    cwd: projectRoot,
  });
  return JSON.parse(stdout) as { code: number; heavy: string[] };
}

describe('the CLI loads only what a command uses', () => {
  it('every command group, loaded alone, registers exactly the commands its table line names', () => {
    for (const group of commandGroups) {
      const program = buildProgram({ out: () => {}, err: () => {}, setExitCode: () => {} }, [group]);
      assert.deepEqual(
        program.commands.map((c) => c.name()).sort(),
        [...group.commands].sort(),
        `group ${group.commands.join('/')}`,
      );
    }
  });

  it('a command line picks its own group; --version none; help and unknown names all', () => {
    assert.deepEqual(groupsFor(['node', 'rf', '--version']), []);
    assert.deepEqual(
      groupsFor(['node', 'rf', 'status', '--json']).map((g) => g.commands),
      [['start', 'promote', 'decide', 'status']],
    );
    assert.deepEqual(
      groupsFor(['node', 'rf', 'help', 'worker']).map((g) => g.commands),
      [['worker', 'serve', 'start-all']],
    );
    assert.equal(groupsFor(['node', 'rf', '--help']).length, commandGroups.length);
    assert.equal(groupsFor(['node', 'rf', 'no-such-command']).length, commandGroups.length);
  });

  it('--version, next-version and check-pr load neither the Temporal client, the worker nor Octokit', async () => {
    const repo = fixture.repository();
    fixture.commit(repo, 'feat: first');
    fixture.git(repo, 'tag', 'v1.0.0');
    fixture.commit(repo, 'fix: second');
    fixture.git(repo, 'checkout', '-q', '-b', 'u1/ABC-1-change');
    fixture.commit(repo, 'fix(ABC-1): third');
    for (const argv of [['--version'], ['next-version', '--repo', repo], ['check-pr', '--repo', repo]]) {
      const { heavy } = await heavyModulesLoadedBy(argv);
      assert.deepEqual(heavy, [], `release-flow ${argv[0]} loaded ${heavy.join(', ')}`);
    }
    // The check can fail: a command that talks to Temporal does load the client.
    const status = await heavyModulesLoadedBy(['status', '--json']);
    assert.ok(status.heavy.includes('@temporalio/client'), JSON.stringify(status));
  });
});
