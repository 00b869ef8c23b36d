/**
 * Alerts on this machine: printed to the console and appended to a JSON-lines journal that
 * tests, the demo and people can read back. The journal is the record of what was sent; a key
 * found in it is never sent again, and the check and the append happen under one file lock so
 * racing retries cannot both page.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Alert, AlertReceipt, Alerts } from '../../ports/alerts';
import { readJsonLines, withFileLock } from './durable-files';

export interface JournalEntry extends Alert {
  sentAt: number;
}

export interface AlertJournalOptions {
  /** The JSON-lines journal. */
  file: string;
  /** Where the human-readable alert goes; `console.error` by default, a no-op in tests. */
  print?: (text: string) => void;
  now?: () => number;
}

/** The alert as a person reads it in a terminal. */
export function renderAlert(alert: Alert): string {
  const lines = [
    `[${alert.severity.toUpperCase()}] to ${alert.team}: ${alert.title}`,
    ...alert.text.split('\n').map((line) => `  ${line}`),
  ];
  if (alert.links.length) lines.push('  Links:', ...alert.links.map((l) => `    ${l.title}: ${l.url}`));
  if (alert.commands.length)
    lines.push('  Decide with:', ...alert.commands.flatMap((c) => [`    # ${c.label}`, `    ${c.command}`]));
  return lines.join('\n');
}

export class AlertJournal implements Alerts {
  private readonly file: string;
  private readonly print: (text: string) => void;
  private readonly now: () => number;

  constructor(options: AlertJournalOptions) {
    this.file = path.resolve(options.file);
    this.print = options.print ?? ((text) => console.error(text));
    this.now = options.now ?? Date.now;
  }

  async send(alert: Alert): Promise<AlertReceipt> {
    if (!alert.key.trim()) throw new Error('an alert needs a key');
    return withFileLock(`${this.file}.lock`, async () => {
      const earlier = (await this.entries()).find((entry) => entry.key === alert.key);
      if (earlier) return { sent: false, sentAt: earlier.sentAt };
      const entry: JournalEntry = { ...alert, sentAt: this.now() };
      await mkdir(path.dirname(this.file), { recursive: true });
      await appendFile(this.file, `${JSON.stringify(entry)}\n`);
      this.print(renderAlert(alert));
      return { sent: true, sentAt: entry.sentAt };
    });
  }

  /** Every alert sent, oldest first. */
  async entries(): Promise<JournalEntry[]> {
    return await readJsonLines<JournalEntry>(this.file);
  }
}
