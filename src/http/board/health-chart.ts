/**
 * The health chart: the error rate of each APM sample against the threshold, with request
 * counts, as inline SVG (no script, no library). Bad samples are red squares, quiet ones
 * (too few requests to judge) hollow, failed queries a cross on the axis; the table beside it
 * carries the same numbers for screen readers and for copying.
 */
import type { ProductionHealthStatus } from '../../workflows/production/messages';
import { esc, time } from './html';

const W = 640;
const H = 240;
const LEFT = 48;
const RIGHT = 12;
const TOP = 16;
const RATE_H = 140;
const GAP = 28;
const BARS_H = 40;

interface Point {
  at: number;
  requests?: number;
  errors?: number;
  rate?: number;
  failed?: string;
}

function pct(rate: number): string {
  const p = rate * 100;
  return `${p >= 10 ? Math.round(p) : Number(p.toFixed(1))}%`;
}

export function healthChart(health: ProductionHealthStatus, idBase: string): string {
  const { maxErrorRate, minRequests } = health.parameters;
  const points: Point[] = health.samples.map((s) =>
    'queryError' in s
      ? { at: s.at, failed: s.queryError }
      : {
          at: s.at,
          requests: s.requests,
          errors: s.errors,
          rate: s.requests > 0 ? s.errors / s.requests : 0,
        },
  );
  const top = Math.max(maxErrorRate * 2, ...points.map((p) => p.rate ?? 0)) * 1.1 || 0.1;
  const maxRequests = Math.max(1, ...points.map((p) => p.requests ?? 0));
  const n = Math.max(points.length, 2);
  const x = (i: number) => LEFT + (W - LEFT - RIGHT) * (points.length === 1 ? 0.5 : i / (n - 1));
  const y = (rate: number) => TOP + RATE_H * (1 - rate / top);
  const barsTop = TOP + RATE_H + GAP;
  const barW = Math.max(2, Math.min(18, (W - LEFT - RIGHT) / n - 3));
  const isBad = (p: Point) =>
    p.rate !== undefined && (p.requests ?? 0) >= minRequests && p.rate > maxErrorRate;
  const isQuiet = (p: Point) => p.rate !== undefined && (p.requests ?? 0) < minRequests;

  const ticks = [0, top / 2, top]
    .map(
      (t) =>
        `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" class="grid"/>` +
        `<text x="${LEFT - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" class="tick">${pct(t)}</text>`,
    )
    .join('');
  const line = points
    .map((p, i) => (p.rate === undefined ? null : `${x(i).toFixed(1)},${y(p.rate).toFixed(1)}`))
    .filter(Boolean)
    .join(' ');
  const marks = points
    .map((p, i) => {
      const cx = x(i).toFixed(1);
      const label = `${new Date(p.at).toISOString().slice(11, 19)} UTC: ${
        p.failed
          ? `query failed (${p.failed})`
          : `${pct(p.rate!)} errors, ${p.errors} of ${p.requests} requests${isBad(p) ? ', bad' : isQuiet(p) ? ', quiet' : ''}`
      }`;
      if (p.failed) {
        const cy = TOP + RATE_H;
        return `<g class="failed"><title>${esc(label)}</title><path d="M${Number(cx) - 5},${cy - 5}l10,10m0,-10l-10,10"/></g>`;
      }
      const cy = y(p.rate!).toFixed(1);
      if (isBad(p)) {
        return `<g class="bad"><title>${esc(label)}</title><rect x="${Number(cx) - 5}" y="${Number(cy) - 5}" width="10" height="10"/></g>`;
      }
      return `<g class="${isQuiet(p) ? 'quiet' : 'good'}"><title>${esc(label)}</title><circle cx="${cx}" cy="${cy}" r="4.5"/></g>`;
    })
    .join('');
  const bars = points
    .map((p, i) => {
      if (p.requests === undefined) return '';
      const h = (BARS_H * p.requests) / maxRequests;
      return `<rect class="requests" x="${(x(i) - barW / 2).toFixed(1)}" y="${(barsTop + BARS_H - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}"/>`;
    })
    .join('');
  const thresholdY = y(maxErrorRate).toFixed(1);
  const bad = points.filter(isBad).length;
  const summary = `${points.length} samples, ${bad} above the ${pct(maxErrorRate)} threshold; verdict ${health.verdict}: ${health.reason}`;
  const svg =
    `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${esc(idBase)}-t ${esc(idBase)}-d" preserveAspectRatio="xMidYMid meet">` +
    `<title id="${esc(idBase)}-t">Error rate per sample against the ${pct(maxErrorRate)} threshold</title>` +
    `<desc id="${esc(idBase)}-d">${esc(summary)}</desc>` +
    ticks +
    `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${thresholdY}" y2="${thresholdY}" class="threshold"/>` +
    `<text x="${W - RIGHT}" y="${Number(thresholdY) - 5}" text-anchor="end" class="threshold-label">threshold ${pct(maxErrorRate)}</text>` +
    (line ? `<polyline points="${line}" class="rate"/>` : '') +
    marks +
    bars +
    `<text x="${LEFT - 6}" y="${barsTop + BARS_H}" text-anchor="end" class="tick">0</text>` +
    `<text x="${LEFT - 6}" y="${barsTop + 8}" text-anchor="end" class="tick">${maxRequests}</text>` +
    `<text x="${LEFT}" y="${H - 2}" class="tick">requests per sample (min ${minRequests} to judge)</text>` +
    `</svg>`;
  const rows = points
    .map(
      (p) =>
        `<tr><td>${time(new Date(p.at).toISOString())}</td><td>${p.requests ?? ''}</td><td>${p.errors ?? ''}</td>` +
        `<td>${p.failed ? `query failed: ${esc(p.failed)}` : pct(p.rate!)}</td><td>${isBad(p) ? 'bad' : isQuiet(p) ? 'quiet' : p.failed ? 'error' : 'good'}</td></tr>`,
    )
    .join('');
  return (
    `<figure class="health">` +
    `<figcaption><strong class="verdict verdict-${esc(health.verdict)}">${esc(health.verdict)}</strong> ${esc(health.reason)}` +
    ` <span class="muted">(${health.sampleCount} samples; bad: above ${pct(maxErrorRate)} with at least ${minRequests} requests, ${health.parameters.consecutiveBadSamples} in a row is a breach)</span></figcaption>` +
    svg +
    `<details><summary>Samples as a table</summary><div class="scroll"><table><thead><tr><th scope="col">Time</th><th scope="col">Requests</th><th scope="col">Errors</th><th scope="col">Error rate</th><th scope="col">Judged</th></tr></thead><tbody>${rows}</tbody></table></div></details>` +
    `</figure>`
  );
}
