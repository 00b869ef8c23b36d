/**
 * The environments as the doors read them (`status`, `environments`, the demo): the same state
 * the worker's Environments adapter keeps under the state directory, opened without deploy
 * commands or fencing, since a reader only asks what runs where.
 */
import path from 'node:path';
import { LocalEnvironments } from '../adapters/local/local-environments';
import type { Config } from '../config/schema';
import type { Environments } from '../ports/environments';

export function environmentsOf(config: Pick<Readonly<Config>, 'stateDir'>): Environments {
  return new LocalEnvironments({ dir: path.resolve(config.stateDir, 'environments') });
}
