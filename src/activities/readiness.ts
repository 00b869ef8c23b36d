import os from 'node:os';

export interface ReadinessPorts {
  /** Names this worker in the readiness answer. */
  identity: string;
}

export function createReadinessActivities(ports: ReadinessPorts) {
  return {
    /** Answers a readiness probe; proves an activity can run on this worker. */
    async reportReady(input: { probeId: string }): Promise<{ probeId: string; answeredBy: string }> {
      return { probeId: input.probeId, answeredBy: ports.identity || os.hostname() };
    },
  };
}
