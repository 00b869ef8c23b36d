/** Wiki pages as markdown files in a local folder (see markdown-folder.ts for numbering and keys). */
import type { DocumentRef } from '../../ports/tickets';
import type { PageRequest, Wiki } from '../../ports/wiki';
import { MarkdownFolder } from './markdown-folder';

export class MarkdownWiki implements Wiki {
  private readonly folder: MarkdownFolder;

  constructor(dir: string) {
    this.folder = new MarkdownFolder(dir);
  }

  async publish(request: PageRequest): Promise<DocumentRef> {
    const { id, created } = await this.folder.create({
      key: request.key,
      ...('id' in request.page ? { id: request.page.id } : { kind: request.page.kind }),
      // The content usually starts with its own `# ID: title` heading (renderRetrospective);
      // a title-less page gets one so the file is recognisable.
      render: (id) => {
        const content = typeof request.content === 'function' ? request.content(id) : request.content;
        return content.trimStart().startsWith('#') ? content : `# ${id}: ${request.title}\n\n${content}`;
      },
    });
    return { id, url: this.folder.url(id), created };
  }

  append(request: { id: string; key: string; markdown: string }): Promise<{ added: boolean }> {
    return this.folder.append(request.id, request.key, request.markdown);
  }

  async read(id: string): Promise<{ id: string; url: string; markdown: string } | null> {
    const markdown = await this.folder.read(id);
    return markdown === null ? null : { id, url: this.folder.url(id), markdown };
  }
}
