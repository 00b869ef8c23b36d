import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  ExecutableNotFound,
  lookup,
  resolveExecutable,
  sdkDownloadName,
  type Resolved,
} from '../../src/temporal/executables';

function fakeExe(dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, '#!/bin/sh\nexit 0\n');
  chmodSync(file, 0o755);
  return file;
}

/** A sandbox where every tier has a candidate; tests remove tiers to see the next one win. */
function sandbox() {
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-resolve-'));
  const root = path.join(base, 'project');
  const onPath = path.join(base, 'path-bin');
  const sdkDir = path.join(base, 'sdk-cache');
  return {
    root,
    sdkDir,
    envExe: () => fakeExe(path.join(base, 'explicit'), 'my-temporal'),
    pathExe: () => fakeExe(onPath, 'temporal'),
    toolsExe: () => fakeExe(path.join(root, '.tools', 'bin'), 'temporal'),
    sdkExe: () => fakeExe(sdkDir, sdkDownloadName('cli')),
    env: (extra: NodeJS.ProcessEnv = {}) => ({ PATH: onPath, ...extra }),
  };
}

function hit(result: Resolved | unknown[]): Resolved {
  assert.ok(!Array.isArray(result), `expected a hit, got attempts ${JSON.stringify(result)}`);
  return result as Resolved;
}

describe('executable resolver order', () => {
  it('the explicit env var wins over PATH, tools folder and SDK cache', () => {
    const s = sandbox();
    const explicit = s.envExe();
    s.pathExe();
    s.toolsExe();
    s.sdkExe();
    const r = hit(
      lookup('cli', { root: s.root, env: s.env({ TEMPORAL_CLI_PATH: explicit }), sdkDownloadDir: s.sdkDir }),
    );
    assert.equal(r.source, 'env');
    assert.equal(r.path, explicit);
  });

  it('PATH wins over the tools folder and SDK cache', () => {
    const s = sandbox();
    const onPath = s.pathExe();
    s.toolsExe();
    s.sdkExe();
    const r = hit(lookup('cli', { root: s.root, env: s.env(), sdkDownloadDir: s.sdkDir }));
    assert.deepEqual([r.source, r.path], ['path', onPath]);
  });

  it('the tools folder wins over the SDK cache', () => {
    const s = sandbox();
    const tools = s.toolsExe();
    s.sdkExe();
    const r = hit(lookup('cli', { root: s.root, env: s.env(), sdkDownloadDir: s.sdkDir }));
    assert.deepEqual([r.source, r.path], ['tools', tools]);
  });

  it("the SDK's cached download is used when nothing else is there", () => {
    const s = sandbox();
    const cached = s.sdkExe();
    const r = hit(lookup('cli', { root: s.root, env: s.env(), sdkDownloadDir: s.sdkDir }));
    assert.deepEqual([r.source, r.path], ['sdk-download', cached]);
  });

  it('an env var naming a missing file is reported and the search goes on', () => {
    const s = sandbox();
    const onPath = s.pathExe();
    const r = hit(
      lookup('cli', {
        root: s.root,
        env: s.env({ TEMPORAL_CLI_PATH: '/nope/temporal' }),
        sdkDownloadDir: s.sdkDir,
      }),
    );
    assert.equal(r.path, onPath);
  });

  it('the test server has its own env var and binary name', () => {
    const s = sandbox();
    const server = fakeExe(path.join(s.root, 'x'), 'ts');
    const r = hit(
      lookup('test-server', {
        root: s.root,
        env: s.env({ TEMPORAL_TEST_SERVER_PATH: server }),
        sdkDownloadDir: s.sdkDir,
      }),
    );
    assert.deepEqual([r.kind, r.source], ['test-server', 'env']);
  });

  it('when nothing is found and provisioning is off, the error lists every place tried and three ways out', async () => {
    const s = sandbox();
    await assert.rejects(
      resolveExecutable('cli', {
        root: s.root,
        env: s.env({ TEMPORAL_CLI_PATH: '/nope/temporal' }),
        sdkDownloadDir: s.sdkDir,
      }),
      (err: unknown) => {
        assert.ok(err instanceof ExecutableNotFound);
        assert.deepEqual(
          err.attempts.map((a) => a.source),
          ['env', 'path', 'tools', 'sdk-download', 'registry-build'],
        );
        assert.match(err.message, /TEMPORAL_CLI_PATH=\/nope\/temporal is not an executable file/);
        assert.match(err.message, /TEMPORAL_ADDRESS/);
        assert.match(err.message, /docker compose up/);
        assert.match(err.message, /install it yourself/);
        return true;
      },
    );
  });

  it('when every provisioning step fails, the error names each failure', async () => {
    const s = sandbox();
    // An empty PATH: no go, no mvn, no java; SDK download skipped (it needs internet).
    await assert.rejects(
      resolveExecutable('cli', {
        root: s.root,
        env: { PATH: path.join(s.root, 'empty'), RELEASE_FLOW_SKIP_SDK_DOWNLOAD: '1' },
        sdkDownloadDir: s.sdkDir,
        provision: true,
      }),
      (err: unknown) => {
        assert.ok(err instanceof ExecutableNotFound);
        assert.match(err.message, /SDK download failed: skipped/);
        assert.match(err.message, /\[registry-build\] build failed: cannot run go/);
        return true;
      },
    );
  });
});
