/** Escaping for server-rendered HTML: every value from a workflow or a person passes here. */

export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A link only for http(s) URLs; anything else (file paths, `javascript:`) is shown as text. */
export function link(url: string | undefined, label: string): string {
  if (!url) return '';
  if (/^https?:\/\//i.test(url) || url.startsWith('/')) return `<a href="${esc(url)}">${esc(label)}</a>`;
  return `${esc(label)} <code>${esc(url)}</code>`;
}

/** `2026-12-01T21:04:05.123Z` -> `21:04:05 UTC` today, `2026-12-01 21:04 UTC` otherwise. */
export function time(isoTime: string | undefined, now = new Date()): string {
  if (!isoTime) return '';
  const d = new Date(isoTime);
  if (Number.isNaN(d.getTime())) return esc(isoTime);
  const text =
    d.toISOString().slice(0, 10) === now.toISOString().slice(0, 10)
      ? `${d.toISOString().slice(11, 19)} UTC`
      : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<time datetime="${esc(d.toISOString())}">${text}</time>`;
}

export function duration(fromIso: string | undefined, toIso: string | undefined): string {
  if (!fromIso || !toIso) return '';
  const ms = new Date(toIso).getTime() - new Date(fromIso).getTime();
  if (!(ms >= 0)) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
