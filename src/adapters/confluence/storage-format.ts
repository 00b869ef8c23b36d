/**
 * Markdown to Confluence's storage format (XHTML), through marked with the few renderers that
 * differ: void elements closed (the storage format is XML), raw HTML shown as text (it need not be
 * well-formed, and a page must not carry markup from commit messages), task boxes as text.
 * Reading back strips the markup to lines a person (or a test) can search.
 */
import { Marked } from 'marked';

const storage = new Marked({
  gfm: true,
  async: false,
  renderer: {
    hr: () => '<hr />\n',
    br: () => '<br />',
    html: ({ text }) => escapeXml(text),
    checkbox: ({ checked }) => (checked ? '[x] ' : '[ ] '),
    image: ({ href, text }) =>
      `<ac:image ac:alt="${escapeXml(text)}"><ri:url ri:value="${escapeXml(href)}" /></ac:image>`,
  },
});

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function toStorage(markdown: string): string {
  return storage.parse(markdown.replace(/<!--[\s\S]*?-->\n?/g, '')) as string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", nbsp: ' ' };

/** The page's text: headings as `#`, list items as `- `, table cells split by `|`. */
export function storageText(value: string): string {
  return value
    .replace(/<ac:placeholder>[\s\S]*?<\/ac:placeholder>/g, '')
    .replace(/<h([1-6])[^>]*>/g, (_, level: string) => `\n${'#'.repeat(Number(level))} `)
    .replace(/<li[^>]*>/g, '\n- ')
    .replace(/<t[dh][^>]*>/g, ' | ')
    .replace(/<\/(p|tr|h[1-6]|table|ul|ol)>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, name: string) => ENTITIES[name] ?? '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
