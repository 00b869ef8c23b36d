/**
 * Markdown in and out of Jira's two document formats: Cloud's REST v3 takes the Atlassian
 * Document Format (converted by marklassian), Data Center's v2 takes wiki markup (converted
 * here from marked's tokens, since no well-kept converter exists). Reading back flattens ADF to
 * plain lines, enough for a person and for a test to find what was written.
 */
import { marked, type Token, type Tokens } from 'marked';
import { markdownToAdf } from 'marklassian';

export type AdfDocument = ReturnType<typeof markdownToAdf>;
export interface AdfNode {
  type: string;
  text?: string;
  attrs?: Record<string, unknown>;
  content?: AdfNode[];
  marks?: { type: string; attrs?: Record<string, unknown> }[];
}

// HTML comments (key markers of other adapters) mean nothing in Jira.
function withoutHtml(markdown: string): string {
  return markdown.replace(/<!--[\s\S]*?-->\n?/g, '');
}

export function toAdf(markdown: string): AdfDocument {
  return markdownToAdf(withoutHtml(markdown));
}

function inline(tokens: readonly Token[] | undefined): string {
  return (tokens ?? [])
    .map((t) => {
      switch (t.type) {
        case 'strong':
          return `*${inline((t as Tokens.Strong).tokens)}*`;
        case 'em':
          return `_${inline((t as Tokens.Em).tokens)}_`;
        case 'codespan':
          return `{{${(t as Tokens.Codespan).text}}}`;
        case 'link': {
          const link = t as Tokens.Link;
          return `[${inline(link.tokens)}|${link.href}]`;
        }
        case 'br':
          return '\\\\';
        default:
          return 'tokens' in t && t.tokens ? inline(t.tokens) : ((t as { text?: string }).text ?? '');
      }
    })
    .join('');
}

function cellText(cell: Tokens.TableCell): string {
  return inline(cell.tokens).replace(/\|/g, '\\|');
}

function block(token: Token, depth = 1): string[] {
  switch (token.type) {
    case 'heading': {
      const h = token as Tokens.Heading;
      return [`h${h.depth}. ${inline(h.tokens)}`, ''];
    }
    case 'paragraph':
      return [inline((token as Tokens.Paragraph).tokens), ''];
    case 'list': {
      const list = token as Tokens.List;
      const bullet = (list.ordered ? '#' : '*').repeat(depth);
      const lines: string[] = [];
      for (const item of list.items) {
        const [first, ...rest] = item.tokens;
        const box = item.task ? (item.checked ? '(/) ' : '(x) ') : '';
        lines.push(
          `${bullet} ${box}${first && 'tokens' in first ? inline(first.tokens) : (first?.raw ?? '').trim()}`,
        );
        for (const t of rest) if (t.type === 'list') lines.push(...block(t, depth + 1).filter(Boolean));
      }
      return [...lines, ''];
    }
    case 'table': {
      const table = token as Tokens.Table;
      return [
        `||${table.header.map(cellText).join('||')}||`,
        ...table.rows.map((row) => `|${row.map(cellText).join('|')}|`),
        '',
      ];
    }
    case 'code':
      return ['{noformat}', (token as Tokens.Code).text, '{noformat}', ''];
    case 'blockquote':
      return ['{quote}', ...(token as Tokens.Blockquote).tokens.flatMap((t) => block(t)), '{quote}', ''];
    case 'hr':
      return ['----', ''];
    case 'space':
    case 'html':
      return [];
    default:
      return [(token as { raw?: string }).raw?.trim() ?? '', ''];
  }
}

/** Jira wiki markup (Data Center's REST v2 descriptions and comments). */
export function toWikiMarkup(markdown: string): string {
  return `${marked
    .lexer(withoutHtml(markdown))
    .flatMap((t) => block(t))
    .join('\n')
    .trim()}\n`;
}

/** Plain lines of an ADF document (or the string itself for v2's wiki markup). */
export function adfText(doc: unknown): string {
  if (typeof doc === 'string') return doc;
  const lines: string[] = [];
  const text = (node: AdfNode): string =>
    node.type === 'text'
      ? (node.text ?? '')
      : (node.content ?? []).map(text).join(node.type === 'tableRow' ? ' | ' : '');
  const walk = (node: AdfNode, prefix = '') => {
    switch (node.type) {
      case 'doc':
      case 'bulletList':
      case 'orderedList':
      case 'table':
      case 'taskList':
        for (const child of node.content ?? [])
          walk(child, node.type === 'bulletList' || node.type === 'orderedList' ? '- ' : prefix);
        return;
      case 'heading':
        lines.push(`${'#'.repeat(Number(node.attrs?.level ?? 1))} ${text(node)}`);
        return;
      case 'listItem':
        lines.push(`${prefix}${(node.content ?? []).map(text).join(' ')}`);
        return;
      case 'taskItem':
        lines.push(`- [${node.attrs?.state === 'DONE' ? 'x' : ' '}] ${text(node)}`);
        return;
      default:
        lines.push(text(node));
    }
  };
  if (doc && typeof doc === 'object') walk(doc as AdfNode);
  return lines.join('\n');
}
