/**
 * `npm start`: the embedded Temporal dev server (unless TEMPORAL_ADDRESS), the worker and the
 * HTTP server, until Ctrl-C. Exits non-zero with one clear line for a user's mistake.
 */
import { loadConfig } from './config/load';
import { isUserError } from './errors';
import { createLogger } from './logging';
import { startApp } from './app';
import { stopOnSignals } from './worker';

async function main(): Promise<void> {
  const { config, file } = loadConfig();
  const logger = createLogger(config.log.level);
  logger.info({ config: file ?? '(defaults)' }, 'release-flow starting');
  const app = await startApp({ config, logger });
  stopOnSignals(async () => {
    await app.stop();
    logger.info('stopped; state is kept in the Temporal database for the next start');
  }, logger);
  const lines = [
    '',
    'release-flow is running',
    `  Temporal:         ${app.target.address} (namespace ${app.target.namespace}${app.devServer ? ', embedded dev server' : ''})`,
    ...(app.uiUrl ? [`  Temporal UI:      ${app.uiUrl}`] : []),
    `  Health:           ${app.http.url}/healthz   readiness: ${app.http.url}/readyz`,
    '  Stop with Ctrl-C.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  await app.done;
}

main().catch((err) => {
  if (isUserError(err)) console.error(`release-flow: ${err.render()}`);
  else console.error('release-flow: unexpected error (a bug; please report it):', err);
  process.exit(1);
});
