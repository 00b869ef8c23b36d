import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { demoConfigPath, loadConfig } from '../../src/config/load';
import { demoRepositoryConfig } from '../../src/demo/demo-repository';
import { projectRoot } from '../../src/common/package-info';
import { cli } from '../helpers/cli';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'rf-cli-edges-'));
const bin = path.join(projectRoot, 'bin', 'release-flow.js');

describe('CLI edges: one line and an honest exit code', () => {
  it('config check DIR names the directory and how to fix it (exit 2, no stack trace)', async () => {
    const dir = tmp();
    const r = await cli(['config', 'check', dir]);
    assert.equal(r.code, 2);
    assert.equal(r.err.split('\n').length, 1, r.err);
    assert.match(r.err, new RegExp(`CONFIG_NOT_A_FILE: config file ${dir} is a directory`));
    assert.doesNotMatch(r.err, /\bat \S+:\d+/);
  });

  it('status --limit -3 (or 0, or a word) is refused before Temporal is asked', async () => {
    for (const bad of ['-3', '0', 'ten', '2.5']) {
      const r = await cli(['status', '--limit', bad]);
      assert.equal(r.code, 1, bad);
      assert.match(r.err, /--limit <n>.*expected a whole number from 1 to 1000/, bad);
      assert.doesNotMatch(r.out, /no releases yet/);
    }
  });

  it('a reader that closes the pipe early (status | head) ends the CLI quietly with 0', async () => {
    const child = spawn(process.execPath, [bin, 'config', 'check', '--json'], {
      cwd: tmp(),
      env: { ...process.env, RELEASE_FLOW_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Like `head` after its lines: the read end goes away before the CLI has written.
    child.stdout.destroy();
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 0, err);
    assert.doesNotMatch(err, /EPIPE|Error/);
  });

  it('the configuration the demo wrote to its state dir is what CLI commands find', async () => {
    const cwd = tmp();
    const stateDir = path.join(cwd, '.release-flow');
    const file = demoConfigPath(stateDir);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(
      file,
      JSON.stringify({ stateDir, repositories: [demoRepositoryConfig(path.join(stateDir, 'demo', 'shop'))] }),
    );
    const loaded = loadConfig({ cwd, env: {} });
    assert.equal(loaded.file, file);
    assert.equal(loaded.demo, true);
    assert.deepEqual(
      loaded.config.repositories.map((r) => r.name),
      ['demo/shop'],
    );
    // A file of the user's own wins over the demo's.
    writeFileSync(path.join(cwd, 'release-flow.json'), JSON.stringify({ repositories: [] }));
    assert.equal(loadConfig({ cwd, env: {} }).demo, undefined);
  });
});
