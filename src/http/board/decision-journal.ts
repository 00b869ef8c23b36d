/**
 * Where board and Slack decisions came from. The workflow records who, when, why and through
 * which Temporal door (signal or update); this journal adds the door people used, so the board
 * can say "from Slack". JSON lines in `<stateDir>/board-decisions.jsonl`, one per accepted
 * decision.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { readJsonLines } from '../../adapters/local/durable-files';

export interface JournalEntry {
  workflowId: string;
  decision: string;
  by: string;
  at: string;
  source: 'board' | 'slack';
  /** The client address, or the Slack user id. */
  from?: string;
}

export class DecisionJournal {
  constructor(private readonly file: string) {}

  static inStateDir(stateDir: string): DecisionJournal {
    return new DecisionJournal(path.join(stateDir, 'board-decisions.jsonl'));
  }

  async record(entry: JournalEntry): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify(entry)}\n`);
  }

  async entries(): Promise<JournalEntry[]> {
    return await readJsonLines<JournalEntry>(this.file).catch(() => []);
  }
}
