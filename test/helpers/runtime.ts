// Imported first by every test file that starts workers: one SDK runtime per test process that
// logs warnings only, so test output shows results rather than worker state changes.
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
} catch {
  // already installed in this process
}
