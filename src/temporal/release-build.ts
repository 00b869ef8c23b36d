/**
 * Which build of release-flow this process is, and the Worker Versioning deployment version it
 * polls as. `npm run build` writes dist/build-info.json with a build id that changes whenever
 * the workflow code does; a checkout without a build is `<version>-dev`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../common/errors';
import { packageVersion, projectRoot } from '../common/package-info';
import type { WorkerDeployment } from './worker-deployments';

export interface BuildInfo {
  version: string;
  buildId: string;
  builtAt?: string;
}

export function buildInfo(root: string = projectRoot): BuildInfo {
  const file = path.join(root, 'dist', 'build-info.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as BuildInfo;
  const version = packageVersion();
  return { version, buildId: `${version}-dev` };
}

/** Deployment names and build ids go into `<name>.<buildId>` on the server: no dots, no spaces. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/**
 * The deployment version from RELEASE_FLOW_DEPLOYMENT (turns versioning on) and
 * RELEASE_FLOW_BUILD_ID (default: this build's id); undefined when versioning is off.
 */
export function deploymentFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerDeployment | undefined {
  const deploymentName = env.RELEASE_FLOW_DEPLOYMENT?.trim();
  if (!deploymentName) return undefined;
  const buildId = env.RELEASE_FLOW_BUILD_ID?.trim() || buildInfo().buildId.replaceAll('.', '_');
  for (const [variable, value] of [
    ['RELEASE_FLOW_DEPLOYMENT', deploymentName],
    ['RELEASE_FLOW_BUILD_ID', buildId],
  ] as const) {
    if (!NAME.test(value)) {
      throw new UserError(
        'BAD_DEPLOYMENT_NAME',
        `${variable}=${value} is not a valid deployment name or build id`,
        'use letters, digits, "-" and "_" only (at most 100 characters, no dots)',
      );
    }
  }
  return { deploymentName, buildId };
}
