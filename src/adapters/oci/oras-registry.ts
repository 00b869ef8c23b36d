/**
 * The Registry port on an OCI registry (the distribution API), through the `oras` CLI, the
 * CNCF's OCI-artifact tool: a build is pushed as an OCI artifact to the dev repository tagged
 * with its commit, tagged with its version, and copied by digest to the production repository
 * (oras mounts the blobs across repositories of one registry instead of uploading them again).
 *
 * Every digest release-flow writes is pinned in `oci-pins.jsonl`; `resolve` (called before every
 * deploy) refuses with a definitive `ArtifactChanged` when the tag names another digest now, so
 * an artifact replaced in the registry is never deployed. Credentials go to oras in a private
 * docker-style auth file, never on a command line.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { appendFile, chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { registerSecret } from '../../common/secrets';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import type { ArtifactLocation, ArtifactRepository, Digest, Registry, TagResult } from '../../ports/registry';
import { readJsonLines } from '../local/durable-files';

export interface OrasRegistryOptions {
  /** `host:port`, or `http(s)://host:port`. */
  url: string;
  devRepository: string;
  prodRepository: string;
  artifactType: string;
  usernameEnv?: string;
  passwordEnv?: string;
  identityTokenEnv?: string;
  /** Where pins are kept (the state directory). */
  stateDir: string;
  /** The oras executable. */
  oras: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

interface Pin {
  repository: ArtifactRepository;
  artifact: string;
  tag: string;
  digest: Digest;
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Where oras is: RELEASE_FLOW_ORAS_PATH, PATH, then the project's `.tools/bin`. */
export function findOras(env: NodeJS.ProcessEnv, root: string): string | undefined {
  if (env.RELEASE_FLOW_ORAS_PATH) return env.RELEASE_FLOW_ORAS_PATH;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'oras'))) return path.join(dir, 'oras');
  }
  const tools = path.join(root, '.tools', 'bin', 'oras');
  return existsSync(tools) ? tools : undefined;
}

async function sha256File(file: string): Promise<Digest> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

interface Manifest {
  layers?: { digest?: string; size?: number }[];
}

export class OrasRegistry implements Registry {
  private readonly host: string;
  private readonly plainHttp: boolean;
  private readonly env: NodeJS.ProcessEnv;
  private readonly pinsFile: string;

  constructor(private readonly options: OrasRegistryOptions) {
    const match = /^(https?:\/\/)?([^/]+)\/?$/.exec(options.url);
    this.host = match?.[2] ?? options.url;
    this.plainHttp = options.url.startsWith('http://');
    this.env = options.env ?? process.env;
    this.pinsFile = path.join(path.resolve(options.stateDir), 'oci-pins.jsonl');
  }

  /** The OCI repository of an artifact in dev or prod (`release-flow/dev/acme/app`). */
  repositoryOf(repository: ArtifactRepository, artifact: string): string {
    const template = repository === 'prod' ? this.options.prodRepository : this.options.devRepository;
    const name = artifact.toLowerCase().replace(/[^a-z0-9._/-]+/g, '-');
    return template.replace('{artifact}', name);
  }

  private ref(repository: ArtifactRepository, artifact: string, tagOrDigest: string): string {
    const sep = tagOrDigest.startsWith('sha256:') ? '@' : ':';
    return `${this.host}/${this.repositoryOf(repository, artifact)}${sep}${tagOrDigest}`;
  }

  async upload(request: {
    repository: ArtifactRepository;
    artifact: string;
    tag: string;
    file: string;
  }): Promise<TagResult> {
    this.checkTag(request.tag);
    const info = await stat(request.file).catch(() => null);
    if (!info?.isFile())
      throw new DefinitiveFailure(FailureTypes.invalidReference, `upload: ${request.file} is not a file`);
    const content = await sha256File(request.file);
    const existing = await this.lookup(request.repository, request.artifact, request.tag);
    if (existing) {
      // A retried push finds its own artifact: same content, nothing written.
      if (existing.layer === content)
        return this.pinned(request.repository, request.artifact, request.tag, existing, false);
      throw this.conflict(
        request.repository,
        request.artifact,
        request.tag,
        existing.digest,
        `an artifact with content ${content}`,
      );
    }
    const output = await this.oras(
      [
        'push',
        '--no-tty',
        '--format',
        'json',
        '--artifact-type',
        this.options.artifactType,
        ...this.flags(),
        this.ref(request.repository, request.artifact, request.tag),
        `${path.basename(request.file)}:application/octet-stream`,
      ],
      path.dirname(path.resolve(request.file)),
    );
    const pushed = JSON.parse(output) as { digest?: string };
    if (!pushed.digest || !DIGEST.test(pushed.digest))
      throw new Error(`oras push answered no digest: ${output.slice(0, 200)}`);
    return this.pinned(
      request.repository,
      request.artifact,
      request.tag,
      { digest: pushed.digest as Digest, size: info.size },
      true,
    );
  }

  async addTag(request: {
    repository: ArtifactRepository;
    artifact: string;
    from: string;
    tag: string;
  }): Promise<TagResult> {
    this.checkTag(request.tag);
    const source = await this.lookup(request.repository, request.artifact, request.from);
    if (!source) throw this.notFound(request.repository, request.artifact, request.from);
    const existing = await this.lookup(request.repository, request.artifact, request.tag);
    if (existing) {
      if (existing.digest === source.digest)
        return this.pinned(request.repository, request.artifact, request.tag, existing, false);
      throw this.conflict(request.repository, request.artifact, request.tag, existing.digest, source.digest);
    }
    await this.oras([
      'tag',
      ...this.flags(),
      this.ref(request.repository, request.artifact, source.digest),
      request.tag,
    ]);
    return this.pinned(request.repository, request.artifact, request.tag, source, true);
  }

  async copy(request: {
    artifact: string;
    tag: string;
    from: ArtifactRepository;
    to: ArtifactRepository;
  }): Promise<TagResult> {
    this.checkTag(request.tag);
    const source = await this.resolveChecked(request.from, request.artifact, request.tag);
    if (!source) throw this.notFound(request.from, request.artifact, request.tag);
    const existing = await this.lookup(request.to, request.artifact, request.tag);
    if (existing) {
      if (existing.digest === source.digest)
        return this.pinned(request.to, request.artifact, request.tag, existing, false);
      throw this.conflict(request.to, request.artifact, request.tag, existing.digest, source.digest);
    }
    // By digest: what is copied is what was tested, even if the source tag moved meanwhile.
    await this.oras([
      'cp',
      '--no-tty',
      ...this.flags('from-'),
      ...this.flags('to-'),
      this.ref(request.from, request.artifact, source.digest),
      this.ref(request.to, request.artifact, request.tag),
    ]);
    const copied = await this.lookup(request.to, request.artifact, request.tag);
    if (copied?.digest !== source.digest)
      throw new Error(
        `copy of ${request.artifact}:${request.tag} to ${request.to} did not arrive as ${source.digest}`,
      );
    return this.pinned(request.to, request.artifact, request.tag, copied, true);
  }

  async resolve(request: {
    repository: ArtifactRepository;
    artifact: string;
    tag: string;
  }): Promise<ArtifactLocation | null> {
    const found = await this.resolveChecked(request.repository, request.artifact, request.tag);
    return found ? this.location(request.repository, request.artifact, request.tag, found) : null;
  }

  /** For `doctor`: the registry answers `/v2/` (with the configured credentials). */
  async ping(): Promise<string> {
    const url = `${this.plainHttp ? 'http' : 'https'}://${this.host}/v2/`;
    const headers: Record<string, string> = {};
    const user = this.options.usernameEnv ? this.env[this.options.usernameEnv] : undefined;
    const password = this.options.passwordEnv ? this.env[this.options.passwordEnv] : undefined;
    if (user !== undefined && password !== undefined)
      headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const response = await fetch(url, {
      headers,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    // 401 with a token challenge is a registry asking for a bearer token: it answers.
    if (response.status === 200) return `${url} answered 200`;
    if (response.status === 401 && response.headers.get('www-authenticate'))
      return `${url} answered 401 with a ${response.headers.get('www-authenticate')?.split(' ')[0]} challenge (oras follows it)`;
    throw new Error(`${url} answered HTTP ${response.status}`);
  }

  private async resolveChecked(repository: ArtifactRepository, artifact: string, tag: string) {
    const found = await this.lookup(repository, artifact, tag);
    const pin = (await this.pins())
      .filter((p) => p.repository === repository && p.artifact === artifact && p.tag === tag)
      .at(-1);
    if (pin && found?.digest !== pin.digest) {
      throw new DefinitiveFailure(
        FailureTypes.artifactChanged,
        `${this.ref(repository, artifact, tag)} names ${found?.digest ?? 'nothing'} now, not ${pin.digest} as release-flow ${repository === 'prod' ? 'copied' : 'pushed'} it: refusing to use a changed artifact (fix: find out who replaced the tag; push a new version)`,
        { repository, artifact, tag, expected: pin.digest, found: found?.digest ?? null },
      );
    }
    return found;
  }

  /** The digest a tag (or digest) names and its content layer, or null when it does not exist. */
  private async lookup(repository: ArtifactRepository, artifact: string, tagOrDigest: string) {
    let manifestText: string;
    try {
      manifestText = await this.oras([
        'manifest',
        'fetch',
        ...this.flags(),
        this.ref(repository, artifact, tagOrDigest),
      ]);
    } catch (err) {
      if (/not found|MANIFEST_UNKNOWN|NAME_UNKNOWN/i.test((err as Error).message)) return null;
      throw err;
    }
    const digest = `sha256:${createHash('sha256').update(manifestText).digest('hex')}` as Digest;
    if (tagOrDigest.startsWith('sha256:') && digest !== tagOrDigest)
      throw new DefinitiveFailure(
        FailureTypes.artifactChanged,
        `manifest ${tagOrDigest} does not hash to its digest`,
      );
    const manifest = JSON.parse(manifestText) as Manifest;
    const layer = manifest.layers?.[0];
    return { digest, size: layer?.size ?? 0, layer: layer?.digest };
  }

  private async pinned(
    repository: ArtifactRepository,
    artifact: string,
    tag: string,
    found: { digest: Digest; size: number },
    created: boolean,
  ): Promise<TagResult> {
    const pins = await this.pins();
    if (
      !pins.some(
        (p) =>
          p.repository === repository &&
          p.artifact === artifact &&
          p.tag === tag &&
          p.digest === found.digest,
      )
    ) {
      await mkdir(path.dirname(this.pinsFile), { recursive: true });
      await appendFile(
        this.pinsFile,
        `${JSON.stringify({ repository, artifact, tag, digest: found.digest } satisfies Pin)}\n`,
      );
    }
    return { ...this.location(repository, artifact, tag, found), created };
  }

  private location(
    repository: ArtifactRepository,
    artifact: string,
    tag: string,
    found: { digest: Digest; size: number },
  ): ArtifactLocation {
    return {
      repository,
      artifact,
      tag,
      digest: found.digest,
      size: found.size,
      uri: this.ref(repository, artifact, found.digest),
    };
  }

  private async pins(): Promise<Pin[]> {
    return await readJsonLines<Pin>(this.pinsFile);
  }

  private checkTag(tag: string): void {
    if (!TAG.test(tag))
      throw new DefinitiveFailure(FailureTypes.invalidReference, `invalid OCI tag ${JSON.stringify(tag)}`);
  }

  private conflict(
    repository: ArtifactRepository,
    artifact: string,
    tag: string,
    existing: string,
    wanted: string,
  ) {
    return new DefinitiveFailure(
      FailureTypes.tagConflict,
      `${this.ref(repository, artifact, tag)} already names ${existing}, not ${wanted}`,
      { repository, artifact, tag, existing, wanted },
    );
  }

  private notFound(repository: ArtifactRepository, artifact: string, tag: string) {
    return new DefinitiveFailure(
      FailureTypes.artifactNotFound,
      `${this.ref(repository, artifact, tag)} does not exist`,
      { repository, artifact, tag },
    );
  }

  /** Transport flags for a plain or prefixed (`from-`, `to-`) target. */
  private flags(prefix = ''): string[] {
    return this.plainHttp ? [`--${prefix}plain-http`] : [];
  }

  private async oras(args: string[], cwd?: string): Promise<string> {
    const home = await mkdtemp(path.join(os.tmpdir(), 'release-flow-oras-'));
    try {
      const authFile = await this.writeAuth(home);
      const withAuth = authFile ? this.addAuth(args, authFile) : args;
      return await new Promise<string>((resolve, reject) => {
        execFile(
          this.options.oras,
          withAuth,
          {
            cwd: cwd ?? home,
            timeout: this.options.timeoutMs ?? 120_000,
            maxBuffer: 16 * 1024 * 1024,
            // A home of its own: no personal docker credentials are picked up or written.
            env: { PATH: this.env.PATH ?? '/usr/bin:/bin', HOME: home, DOCKER_CONFIG: home },
          },
          (err, stdout, stderr) => {
            if (err)
              reject(
                new Error(
                  `oras ${args[0]}: ${(stderr || err.message).trim().split('\n').slice(-2).join(' ')}`,
                ),
              );
            else resolve(stdout);
          },
        );
      });
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }

  private addAuth(args: string[], authFile: string): string[] {
    if (args[0] === 'cp')
      return [
        args[0],
        '--from-registry-config',
        authFile,
        '--to-registry-config',
        authFile,
        ...args.slice(1),
      ];
    return [
      args[0]!,
      ...(args[0] === 'manifest' ? [args[1]!] : []),
      '--registry-config',
      authFile,
      ...args.slice(args[0] === 'manifest' ? 2 : 1),
    ];
  }

  private async writeAuth(dir: string): Promise<string | undefined> {
    const get = (name?: string) => (name ? this.env[name] : undefined);
    const token = get(this.options.identityTokenEnv);
    const user = get(this.options.usernameEnv);
    const password = get(this.options.passwordEnv);
    let entry: Record<string, string> | undefined;
    if (token) {
      registerSecret(token);
      entry = { identitytoken: token };
    } else if (user !== undefined && password !== undefined) {
      registerSecret(password);
      entry = { auth: Buffer.from(`${user}:${password}`).toString('base64') };
    }
    if (!entry) return undefined;
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ auths: { [this.host]: entry } }), { mode: 0o600 });
    await chmod(file, 0o600);
    return file;
  }
}
