/**
 * The board and the Slack door as the app mounts them: config -> identity, Temporal reads,
 * decisions. The Temporal client arrives after the HTTP server is up, so it is read through a
 * getter; until then the board says Temporal is not connected and decisions are refused.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Config } from '../../config/schema';
import type { Logger } from '../../common/logging';
import { madeOnce } from '../../common/made-once-file';
import { logLinkKey, logLinks } from '../log-routes';
import type { Route } from '../server';
import { slackInteractionRoutes } from '../slack-interactions';
import { boardRoutes } from './board-routes';
import { BoardState } from './board-state';
import { decide, type DecideCommand, type DecideOutcome } from './decide';
import { DecisionJournal } from './decision-journal';
import { BoardAuth } from './identity';

export interface OpenBoardOptions {
  config: Readonly<Config>;
  /** Absolute state directory. */
  stateDir: string;
  baseDir: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  client: () => Client | undefined;
  namespace: () => string;
  uiUrl: () => string | undefined;
}

const KEY_FILE = 'board-session.key';

/** The key that signs board sessions and CSRF tokens, made once per state directory. */
export function boardKey(stateDir: string): Buffer {
  return Buffer.from(
    madeOnce(stateDir, KEY_FILE, () => randomBytes(32).toString('hex')),
    'hex',
  );
}

export function openBoard(opts: OpenBoardOptions): { routes: Route[]; auth: BoardAuth } {
  const { config } = opts;
  const publicUrl = config.server.publicUrl;
  const auth = new BoardAuth({
    auth: config.board.auth,
    key: boardKey(opts.stateDir),
    baseDir: opts.baseDir,
    secureCookies: publicUrl?.startsWith('https://') === true,
    ...(publicUrl ? { origins: [new URL(publicUrl).origin] } : {}),
  });
  const journal = DecisionJournal.inStateDir(opts.stateDir);
  const state = new BoardState({
    client: opts.client,
    namespace: opts.namespace,
    uiUrl: opts.uiUrl,
    repositories: config.repositories.map((r) => r.name),
    stateDir: opts.stateDir,
    journal,
    // Relative links: the board is on the same server as the logs.
    logLink: logLinks('', logLinkKey(opts.stateDir)),
  });
  const decideWith = async (command: DecideCommand): Promise<DecideOutcome> => {
    const client = opts.client();
    if (!client)
      return { accepted: false, status: 503, reason: 'Temporal is not connected yet; try again in a moment' };
    return await decide(client, command);
  };
  const logDecision = (e: {
    workflowId: string;
    decision: string;
    by: string;
    accepted: boolean;
    reason?: string;
  }) =>
    opts.logger.info(
      { ...e, source: 'board' },
      e.accepted ? 'decision accepted from the board' : 'decision from the board rejected',
    );
  return {
    auth,
    routes: [
      ...boardRoutes({
        auth,
        journal,
        source: { snapshot: () => state.snapshot(), decide: decideWith },
        onDecision: logDecision,
      }),
      ...slackInteractionRoutes({
        secret: opts.env.SLACK_SIGNING_SECRET,
        slack: config.board.slack,
        decide: decideWith,
        journal,
        logger: opts.logger,
      }),
      {
        method: 'GET',
        path: '/',
        handler: (_req, res) => {
          res.writeHead(303, { location: '/board' });
          res.end();
        },
      },
    ],
  };
}
