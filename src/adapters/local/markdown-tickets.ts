/** Tickets as markdown files in a local folder (see markdown-folder.ts for numbering and keys). */
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import type { DocumentRef, Ticket, TicketRequest, Tickets } from '../../ports/tickets';
import { MarkdownFolder } from './markdown-folder';

export class MarkdownTickets implements Tickets {
  private readonly folder: MarkdownFolder;

  constructor(
    dir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.folder = new MarkdownFolder(dir);
  }

  async open(request: TicketRequest): Promise<DocumentRef> {
    const opened = new Date(this.now()).toISOString();
    const { id, created } = await this.folder.create({
      key: request.key,
      ...(request.id ? { id: request.id } : { kind: request.kind }),
      render: (id) =>
        [
          `# ${id}: ${request.title}`,
          '',
          '- Status: open',
          `- Opened: ${opened}`,
          ...(request.labels?.length ? [`- Labels: ${request.labels.join(', ')}`] : []),
          '',
          request.body.trimEnd(),
          '',
          '## Updates',
          '',
        ].join('\n'),
    });
    return { id, url: this.folder.url(id), created };
  }

  async comment(request: { id: string; key: string; markdown: string }): Promise<{ added: boolean }> {
    const stamp = new Date(this.now()).toISOString();
    return this.folder.append(request.id, request.key, `### ${stamp}\n\n${request.markdown.trimEnd()}`);
  }

  async close(request: { id: string; key: string; markdown: string }): Promise<{ closed: boolean }> {
    const stamp = new Date(this.now()).toISOString();
    const { added } = await this.folder.append(
      request.id,
      request.key,
      `### ${stamp}: closed\n\n${request.markdown.trimEnd()}`,
    );
    if (added) await this.folder.replaceLine(request.id, '- Status: open', `- Status: closed (${stamp})`);
    return { closed: added };
  }

  async get(id: string): Promise<Ticket | null> {
    const markdown = await this.folder.read(id);
    if (markdown === null) return null;
    const heading = /^# [^:]+: (.*)$/m.exec(markdown);
    if (!heading)
      throw new DefinitiveFailure(FailureTypes.documentNotFound, `${id} is not a ticket this adapter wrote`);
    return { id, url: this.folder.url(id), title: heading[1]!, markdown };
  }
}
