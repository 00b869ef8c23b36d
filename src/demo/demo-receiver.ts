/**
 * Where a running demo (`npm start` with no configuration) receives webhooks and the secret it
 * signs them with, kept in the state directory so `release-flow demo hotfix` can deliver a push
 * the way the demo's own deliveries arrive.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../common/errors';

export interface DemoReceiverFile {
  url: string;
  /** Absent when the secret came from GITHUB_WEBHOOK_SECRET. */
  secret?: string;
}

export function demoReceiverPath(stateDir: string): string {
  return path.resolve(stateDir, 'demo', 'receiver.json');
}

/**
 * Written by `npm start` at every start (the port changes): readable by this user only, like
 * the board token beside it.
 */
export function writeDemoReceiver(stateDir: string, receiver: DemoReceiverFile): void {
  const file = demoReceiverPath(stateDir);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(receiver)}\n`, { mode: 0o600 });
  // An older file keeps its mode through writeFileSync: make sure it is this user's only.
  chmodSync(file, 0o600);
}

/** The running demo's receiver; GITHUB_WEBHOOK_SECRET, when set, is the secret the receiver checks. */
export function readDemoReceiver(
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Required<DemoReceiverFile> {
  const file = demoReceiverPath(stateDir);
  let parsed: Partial<DemoReceiverFile>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<DemoReceiverFile>;
  } catch {
    throw new UserError(
      'DEMO_NOT_RUNNING',
      `no running demo recorded its webhook receiver in ${file}`,
      'start the demo with `npm start` (no configuration file) and run this again',
    );
  }
  const secret = env.GITHUB_WEBHOOK_SECRET ?? parsed.secret;
  if (typeof parsed.url !== 'string' || typeof secret !== 'string') {
    throw new UserError(
      'DEMO_NOT_RUNNING',
      `${file} does not name the demo's receiver and secret`,
      'restart the demo with `npm start` (with GITHUB_WEBHOOK_SECRET set here too if it was set there)',
    );
  }
  return { url: parsed.url, secret };
}
