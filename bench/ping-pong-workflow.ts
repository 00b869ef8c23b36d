import { condition, defineSignal, getExternalWorkflowHandle, setHandler } from '@temporalio/workflow';

export const pingSignal = defineSignal<[number]>('ping');

/**
 * The benchmark's floor: two of these signal a counter back and forth `rounds` times, the bare
 * cost of one signal hop between two workflows on the same server.
 */
export async function pingPongWorkflow(input: {
  peer: string;
  rounds: number;
  serve: boolean;
}): Promise<number> {
  let pending: number | undefined;
  setHandler(pingSignal, (n) => {
    pending = n;
  });
  const peer = getExternalWorkflowHandle(input.peer);
  if (input.serve) await peer.signal(pingSignal, 0);
  for (;;) {
    await condition(() => pending !== undefined);
    const n = pending as number;
    pending = undefined;
    if (n >= input.rounds) return n;
    await peer.signal(pingSignal, n + 1);
    if (n + 1 >= input.rounds) return n + 1;
  }
}
