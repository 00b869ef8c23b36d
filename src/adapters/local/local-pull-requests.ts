/**
 * Pull requests of a repository that lives only on this machine (the pull-request gate
 * without GitHub). Ancestry and commits come from the local clone; the "open pull requests" are the
 * ones the gate has checked, kept in a small JSON file, as long as their branch still exists and is
 * not merged into its base yet. So a push to the base re-checks them exactly as on GitHub.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CommitRecord } from '../../ports/git';
import type {
  Comparison,
  MergeResult,
  OpenedPullRequest,
  PullRequestRef,
  PullRequests,
} from '../../ports/pull-requests';
import { readJsonFile, withFileLock, writeFileAtomic } from './durable-files';
import type { LocalGitRepository } from './git-repository';

interface KnownPullRequest {
  number: number;
  headRef: string;
  baseRef: string;
  /** The head last checked, for a pull request whose branch is not in the clone. */
  headSha: string;
}

interface RegistryFile {
  pullRequests: KnownPullRequest[];
}

/** The registry file of a repository under `dir` (names like `acme/app` become one safe file name). */
export function pullRequestRegistryPath(dir: string, repository: string): string {
  return path.join(dir, `${repository.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`);
}

/** The pull requests the gate has checked on this machine, with the number each branch goes by. */
export class PullRequestRegistry {
  /** `file`: see `pullRequestRegistryPath`. */
  constructor(readonly file: string) {}

  /** Remembers a pull request the gate checked, so a later push to its base checks it again. */
  async remember(pullRequest: PullRequestRef): Promise<void> {
    await this.update((known) => [...known.filter((p) => p.number !== pullRequest.number), pullRequest]);
  }

  /**
   * The number of a branch's pull request: the one it was given before, else one past the highest
   * known, recorded at once (under the file's lock) so two new branches never share a number.
   */
  async reserve(pullRequest: Omit<PullRequestRef, 'number'>): Promise<number> {
    let number = 0;
    await this.update((known) => {
      const earlier = known.find((p) => p.headRef === pullRequest.headRef);
      if (earlier) {
        number = earlier.number;
        return known;
      }
      number = known.reduce((max, p) => Math.max(max, p.number), 0) + 1;
      return [...known, { ...pullRequest, number }];
    });
    return number;
  }

  private async update(change: (known: KnownPullRequest[]) => PullRequestRef[]): Promise<void> {
    await withFileLock(`${this.file}.lock`, async () => {
      const next = change(await this.known()).map(({ number, headRef, baseRef, headSha }) => ({
        number,
        headRef,
        baseRef,
        headSha,
      }));
      const file: RegistryFile = { pullRequests: next.sort((a, b) => a.number - b.number) };
      await writeFileAtomic(this.file, `${JSON.stringify(file, null, 2)}\n`);
    });
  }

  async known(): Promise<KnownPullRequest[]> {
    return (await readJsonFile<RegistryFile>(this.file))?.pullRequests ?? [];
  }
}

export class LocalPullRequests implements PullRequests {
  constructor(
    private readonly git: LocalGitRepository,
    readonly registry: PullRequestRegistry,
  ) {}

  async listOpen(base: string): Promise<PullRequestRef[]> {
    const open: PullRequestRef[] = [];
    const into = (await this.registry.known()).filter((p) => p.baseRef === base);
    if (into.length === 0) return open;
    const baseHead = await this.git.resolveCommit(base);
    for (const known of into) {
      const head = await this.branchHead(known.headRef);
      // A deleted branch is a closed pull request; one whose head the base contains is merged.
      if (!head || (await this.git.isAncestor(head, baseHead))) continue;
      open.push({ number: known.number, headRef: known.headRef, headSha: head, baseRef: known.baseRef });
    }
    return open;
  }

  async commits(number: number): Promise<CommitRecord[]> {
    const known = (await this.registry.known()).find((p) => p.number === number);
    if (!known) throw new Error(`pull request #${number} has not been checked on this machine`);
    const head = (await this.branchHead(known.headRef)) ?? known.headSha;
    return await this.git.commitsBetween(known.baseRef, head);
  }

  async compare(base: string, head: string): Promise<Comparison> {
    const [baseSha, headSha] = [await this.git.resolveCommit(base), await this.git.resolveCommit(head)];
    const commits = await this.git.commitsBetween(baseSha, headSha);
    return { status: await this.relation(baseSha, headSha), baseSha, commits };
  }

  async mergeResult(request: { number: number; base: string; head: string }): Promise<MergeResult> {
    const sha = await this.git.testMerge(request.base, request.head);
    return sha ? { clean: true, sha } : { clean: false };
  }

  /** Records the pull request in the gate's registry (where the gate and the CLI find it). */
  async open(request: {
    head: string;
    base: string;
    title: string;
    body: string;
  }): Promise<OpenedPullRequest> {
    const headSha = await this.git.resolveCommit(`refs/heads/${request.head}`);
    const earlier = (await this.registry.known()).find((p) => p.headRef === request.head);
    const number = await this.registry.reserve({ headRef: request.head, baseRef: request.base, headSha });
    return { number, url: `${pathToFileURL(this.registry.file).href}#${number}`, created: !earlier };
  }

  private async relation(baseSha: string, headSha: string): Promise<Comparison['status']> {
    if (baseSha === headSha) return 'identical';
    if (await this.git.isAncestor(baseSha, headSha)) return 'ahead';
    if (await this.git.isAncestor(headSha, baseSha)) return 'behind';
    return 'diverged';
  }

  private async branchHead(branch: string): Promise<string | null> {
    return await this.git.resolveCommit(`refs/heads/${branch}`).catch(() => null);
  }
}
