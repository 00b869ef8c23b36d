/**
 * The board as server-rendered HTML. The page is the shell (header, sign-in state, the script);
 * `renderContent` is the part the script fetches again every few seconds and swaps in, so the
 * server is the one place that knows how a release looks.
 */
import type { Person } from './identity';
import type { BoardDecision, BoardIncident, BoardRelease, BoardSnapshot, BoardStage } from './board-state';
import { healthChart } from './health-chart';
import { duration, esc, link, time } from './html';

export interface RenderContext {
  person: Person | null;
  csrf: string;
  /** How people sign in here: `tokens` shows a link to the login form. */
  mode: 'none' | 'proxy' | 'tokens';
  now?: Date;
}

const DECISION_LABELS = {
  emergency: 'Emergency',
  rollback: 'Rollback',
  failForward: 'Fail forward',
} as const;

export function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

function label(decision: string): string {
  return (DECISION_LABELS as Record<string, string>)[decision] ?? decision;
}

export function renderPage(snapshot: BoardSnapshot, ctx: RenderContext): string {
  return layout(
    'release-flow board',
    ctx,
    `<div id="board-content" aria-live="off">${renderContent(snapshot, ctx)}</div>`,
  );
}

export function layout(
  title: string,
  ctx: Pick<RenderContext, 'person' | 'csrf' | 'mode'>,
  body: string,
): string {
  const who = ctx.person
    ? `<span>Signed in as <strong id="whoami">${esc(ctx.person.name)}</strong></span>` +
      (ctx.mode === 'tokens'
        ? ` <form method="post" action="/board/logout" class="inline"><input type="hidden" name="csrf" value="${esc(ctx.csrf)}"><button type="submit" class="link">Sign out</button></form>`
        : '')
    : ctx.mode === 'tokens'
      ? `<span>Not signed in.</span> <a href="/board/login">Sign in</a>`
      : ctx.mode === 'proxy'
        ? `<span>Not signed in (sign in through your proxy).</span>`
        : `<span>Read-only: no sign-in is configured (board.auth).</span>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${esc(ctx.csrf)}">
<title>${esc(title)}</title>
<link rel="stylesheet" href="/board/assets/board.css">
<script src="/board/assets/board.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to the board</a>
<header class="top"><h1><a href="/board">release-flow</a></h1><div class="who">${who}</div></header>
<main id="main">${body}</main>
</body>
</html>`;
}

export function renderContent(snapshot: BoardSnapshot, ctx: RenderContext): string {
  const now = ctx.now ?? new Date();
  const releases = snapshot.repositories.flatMap((r) => r.releases);
  const panels = decisionPanels(releases);
  return [
    `<p class="updated muted">Updated ${time(snapshot.at, now)} <span id="live-state"></span></p>`,
    snapshot.error ? `<p class="alert" role="alert">${esc(snapshot.error)}</p>` : '',
    panels.length
      ? `<section aria-labelledby="h-production"><h2 id="h-production">Production</h2>${panels.map((r) => decisionPanel(r, ctx, now)).join('')}</section>`
      : '',
    lockSection(snapshot, now),
    repositoriesSection(snapshot, now),
    incidentsSection(snapshot.incidents),
    decisionsSection(snapshot.decisions, now),
  ].join('\n');
}

function production(r: BoardRelease): BoardStage | undefined {
  return r.stages.find((s) => s.stage === 'production');
}

/** Releases whose production stage a person may want to act on or look at now. */
function decisionPanels(releases: BoardRelease[]): BoardRelease[] {
  const shown = new Set<string>();
  return releases.filter((r) => {
    const p = production(r);
    if (!p?.status) return false;
    const live = p.execution === 'RUNNING';
    const breached = p.status.health?.verdict === 'breach' || (p.status.decisions?.length ?? 0) > 0;
    // Every release awaiting a decision, and the newest watched or breached one per repository.
    if (r.awaitingDecision) return true;
    if (!(live || breached) || shown.has(r.repository)) return false;
    shown.add(r.repository);
    return true;
  });
}

function decisionPanel(r: BoardRelease, ctx: RenderContext, now: Date): string {
  const p = production(r)!;
  const status = p.status!;
  const id = slug(p.workflowId);
  const taken = status.decisions?.[status.decisions.length - 1];
  const state = r.awaitingDecision
    ? `<p class="alert" role="alert"><strong>Decision needed</strong> since ${time(status.awaitingSince, now)}: ${esc(status.health?.reason ?? 'production breached')}</p>`
    : taken
      ? `<p class="decided"><strong>Decided: ${esc(label(taken.decision))}</strong> by <strong>${esc(taken.by)}</strong> at ${time(taken.at, now)}${taken.reason ? `: “${esc(taken.reason)}”` : ''}</p>`
      : `<p class="muted">No decision is awaited (${esc(status.state)}, ${esc(status.step)}).</p>`;
  const who = ctx.person
    ? `Deciding as <strong>${esc(ctx.person.name)}</strong>.`
    : ctx.mode === 'tokens'
      ? `<a href="/board/login">Sign in</a> to decide.`
      : 'Sign in to decide.';
  const buttons =
    `<form class="decide" method="post" action="/board/decide" data-workflow="${esc(p.workflowId)}" data-release="${esc(`${r.repository} ${r.version ?? ''}`)}">` +
    `<input type="hidden" name="workflowId" value="${esc(p.workflowId)}">` +
    `<input type="hidden" name="csrf" value="${esc(ctx.csrf)}">` +
    `<label for="reason-${id}">Reason</label>` +
    `<input type="text" id="reason-${id}" name="reason" maxlength="500" autocomplete="off" placeholder="why (recorded with the decision)">` +
    `<div class="buttons" role="group" aria-label="Decisions for ${esc(r.repository)} ${esc(r.version ?? '')}">` +
    `<button type="submit" name="decision" value="emergency" class="danger">Emergency</button>` +
    `<button type="submit" name="decision" value="rollback" class="warn">Rollback</button>` +
    `<button type="submit" name="decision" value="failForward">Fail forward</button>` +
    `</div>` +
    `<p class="hint muted">${who} Emergency pages operations, takes staging and opens HOT-&lt;n&gt;; it asks for confirmation.</p>` +
    `<p class="result" id="result-${id}" role="status" aria-live="polite"></p>` +
    `</form>`;
  return (
    `<article class="card${r.awaitingDecision ? ' breach' : ''}" id="release-${id}" aria-labelledby="title-${id}">` +
    `<h3 id="title-${id}">${esc(r.repository)} <span class="version">${esc(r.version ?? '')}</span> <span class="state state-${esc(status.state)}">${esc(status.state)}</span></h3>` +
    state +
    (status.health ? healthChart(status.health, `chart-${id}`) : '') +
    buttons +
    `<p class="links">${link(p.uiUrl, 'Open in the Temporal UI')}</p>` +
    `</article>`
  );
}

/** Which open incidents keep staging hotfix-only. */
function holdsOf(lock: NonNullable<BoardSnapshot['lock']>): string {
  const holds = Array.isArray(lock.incidents) ? lock.incidents : [];
  if (!holds.length) return "Only the incident's hotfix may take staging.";
  return `Held by ${holds.map((h) => `<strong>${esc(h.id)}</strong> (${esc(h.repository)})`).join(', ')}: only their hotfixes may take staging until each is healthy.`;
}

function lockSection(snapshot: BoardSnapshot, now: Date): string {
  const lock = snapshot.lock;
  if (!lock) {
    return `<section aria-labelledby="h-lock"><h2 id="h-lock">Staging lock</h2><p>${esc(snapshot.lockError ?? 'Free: staging has not been locked yet.')}</p></section>`;
  }
  const holder = lock.holder
    ? `<p>Held by <strong>${esc(lock.holder.purpose)}</strong> (<code>${esc(lock.holder.workflowId)}</code>, ${esc(lock.holder.priority)}, token ${esc(lock.holder.token)}) since ${time(lock.holder.since, now)}, lease until ${time(lock.holder.leaseUntil, now)}.</p>`
    : '<p>Free.</p>';
  const mode =
    lock.mode?.mode === 'hotfixOnly'
      ? `<p class="alert" role="alert"><strong>Hotfix only</strong>: ${esc(lock.mode.reason)} (by ${esc(lock.mode.by)} since ${time(lock.mode.since, now)}). ${holdsOf(lock)}</p>`
      : `<p>Mode: normal.</p>`;
  const queue = lock.queue?.length
    ? `<h3>Queue</h3><ol>${lock.queue.map((q) => `<li>${esc(q.purpose)} <code>${esc(q.workflowId)}</code> (${esc(q.priority)}) waiting since ${time(q.waitingSince, now)}</li>`).join('')}</ol>`
    : '<p>Nobody is waiting.</p>';
  const recent = (lock.recent ?? []).slice(-8).reverse();
  const events = recent.length
    ? `<details><summary>Recent grants and releases (${lock.grants} grants, ${lock.revocations} revocations)</summary><div class="scroll"><table><thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th></tr></thead><tbody>${recent
        .map((e) => {
          const ev = e as unknown as Record<string, unknown>;
          const when =
            typeof ev.at === 'string'
              ? ev.at
              : typeof ev.at === 'number'
                ? new Date(ev.at).toISOString()
                : undefined;
          const what = [ev.kind ?? ev.type, ev.detail ?? ev.reason].filter(Boolean).join(': ');
          const who = ev.workflowId ?? ev.by ?? '';
          return `<tr><td>${time(when, now)}</td><td>${esc(what)}</td><td><code>${esc(who)}</code></td></tr>`;
        })
        .join('')}</tbody></table></div></details>`
    : '';
  return `<section aria-labelledby="h-lock"><h2 id="h-lock">Staging lock</h2>${mode}${holder}${queue}${events}</section>`;
}

function repositoriesSection(snapshot: BoardSnapshot, now: Date): string {
  if (!snapshot.repositories.length) {
    return `<section aria-labelledby="h-repos"><h2 id="h-repos">Releases</h2><p>No repository is configured yet.</p></section>`;
  }
  return `<section aria-labelledby="h-repos"><h2 id="h-repos">Releases</h2>${snapshot.repositories
    .map((repo) => {
      const envs = (['dev', 'staging', 'production'] as const)
        .map((e) => `<div><dt>${e}</dt><dd>${esc(shortVersion(repo.environments[e]))}</dd></div>`)
        .join('');
      const releases = repo.releases.length
        ? repo.releases
            .slice(0, 20)
            .map((r) => releaseRow(r, now))
            .join('')
        : '<p>No releases yet.</p>';
      return `<article class="repo" aria-labelledby="repo-${slug(repo.name)}"><h3 id="repo-${slug(repo.name)}">${esc(repo.name)}</h3><dl class="envs">${envs}</dl>${releases}</article>`;
    })
    .join('')}</section>`;
}

function shortVersion(v: string | null): string {
  if (!v) return '–';
  return /^[0-9a-f]{40}$/.test(v) ? v.slice(0, 12) : v;
}

function releaseRow(r: BoardRelease, now: Date): string {
  const name = r.version ?? (r.commit ? r.commit.slice(0, 12) : '?');
  const stages = r.stages.map((s) => stageBlock(s, now)).join('');
  const logs = r.logs.length
    ? `<p class="links">Build logs: ${r.logs.map((l) => link(l.url, l.label)).join(' · ')}</p>`
    : '';
  return (
    `<details class="release"${r.awaitingDecision ? ' open' : ''}><summary><span class="version">${esc(name)}</span> ` +
    `<span class="stage">${esc(r.stage)}</span> <span class="state state-${esc(r.state)}">${esc(r.state)}</span>` +
    `${r.awaitingDecision ? ' <strong class="needs">decision needed</strong>' : ''} <span class="muted">${time(r.startedAt, now)}</span></summary>` +
    `${r.commit ? `<p class="muted">commit <code>${esc(r.commit.slice(0, 12))}</code></p>` : ''}${stages}${logs}</details>`
  );
}

function stageBlock(s: BoardStage, now: Date): string {
  const status = s.status;
  const steps = status?.steps?.length
    ? `<div class="scroll"><table><thead><tr><th scope="col">Step</th><th scope="col">Result</th><th scope="col">Started</th><th scope="col">Took</th><th scope="col">Detail</th></tr></thead><tbody>${status.steps
        .map(
          (st) =>
            `<tr><td>${esc(st.name)}</td><td><span class="state state-${esc(st.state)}">${esc(st.state)}</span></td><td>${time(st.startedAt, now)}</td><td>${duration(st.startedAt, st.endedAt)}</td><td>${esc(st.detail ?? '')}</td></tr>`,
        )
        .join('')}</tbody></table></div>`
    : '<p class="muted">No steps reported.</p>';
  const failure = status?.failure
    ? `<p class="alert">Failed at ${esc(status.failure.step)}: ${esc(status.failure.type)}: ${esc(status.failure.message.split('\n')[0])}</p>`
    : '';
  const preempted = status?.preemptedBy ? `<p class="alert">Preempted by ${esc(status.preemptedBy)}</p>` : '';
  const health =
    s.stage === 'production' && status?.health
      ? `<details><summary>Health: ${esc(status.health.verdict)}</summary>${healthChart(status.health, `stage-${slug(s.workflowId)}`)}</details>`
      : '';
  return (
    `<section class="stage-block"><h4>${esc(s.stage)} <span class="state state-${esc(status?.state ?? s.execution.toLowerCase())}">${esc(status?.state ?? s.execution.toLowerCase())}</span> ` +
    `<span class="muted">${time(s.startedAt, now)}${s.closedAt ? ` – ${time(s.closedAt, now)}` : ''}</span> ${link(s.uiUrl, 'Temporal UI')}</h4>` +
    `${failure}${preempted}${steps}${health}</section>`
  );
}

function incidentsSection(incidents: BoardIncident[]): string {
  if (!incidents.length)
    return `<section aria-labelledby="h-incidents"><h2 id="h-incidents">Incidents</h2><p>None.</p></section>`;
  const rows = incidents
    .map(
      (i) =>
        `<tr><th scope="row">${esc(i.id)}</th><td>${esc(i.repository)} ${esc(i.version ?? '')}</td><td>${esc(i.state)}</td>` +
        `<td>${documentCell(i, 'ticket', i.ticketUrl)}</td><td>${documentCell(i, 'page', i.wikiUrl)}</td><td>${i.branch ? `<code>${esc(i.branch)}</code>` : ''}</td>` +
        `<td>${esc(i.hotfixVersions?.length ? i.hotfixVersions.join(', ') : (i.hotfix ?? ''))}</td><td>${i.pullRequest ? link(i.pullRequest.url, `#${i.pullRequest.number}`) : ''}</td></tr>`,
    )
    .join('');
  return `<section aria-labelledby="h-incidents"><h2 id="h-incidents">Incidents</h2><div class="scroll"><table><thead><tr><th scope="col">Incident</th><th scope="col">Release</th><th scope="col">State</th><th scope="col">Ticket</th><th scope="col">Wiki</th><th scope="col">Branch</th><th scope="col">Hotfix versions</th><th scope="col">Pull request</th></tr></thead><tbody>${rows}</tbody></table></div></section>`;
}

/** The ticket's or page's link, or why it is not there yet (the ticket system was away). */
function documentCell(i: BoardIncident, what: 'ticket' | 'page', url: string | undefined): string {
  const pending = i.documents?.find((d) => d.what === what);
  if (!pending) return link(url, what === 'ticket' ? 'ticket' : 'wiki page');
  return `<span class="state state-${esc(pending.state)}">${esc(pending.state)}</span> <span class="muted">after ${esc(pending.attempts)} attempt(s)${pending.lastError ? `: ${esc(pending.lastError)}` : ''}</span>`;
}

function decisionsSection(decisions: BoardDecision[], now: Date): string {
  if (!decisions.length)
    return `<section aria-labelledby="h-decisions"><h2 id="h-decisions">Decisions</h2><p>None taken yet.</p></section>`;
  const rows = decisions
    .map(
      (d) =>
        `<tr><td>${time(d.at, now)}</td><td>${esc(d.repository)} ${esc(d.version ?? '')}</td><td><strong>${esc(label(d.decision))}</strong></td>` +
        `<td>${esc(d.by)}</td><td>${esc(d.reason ?? '')}</td><td>${esc(d.from)}</td></tr>`,
    )
    .join('');
  return `<section aria-labelledby="h-decisions"><h2 id="h-decisions">Decisions</h2><div class="scroll"><table id="decisions"><thead><tr><th scope="col">When</th><th scope="col">Release</th><th scope="col">Decision</th><th scope="col">Who</th><th scope="col">Why</th><th scope="col">From</th></tr></thead><tbody>${rows}</tbody></table></div></section>`;
}

/** A small page of its own: the login form, a no-script decision result, a refusal. */
export function messagePage(
  title: string,
  ctx: Pick<RenderContext, 'person' | 'csrf' | 'mode'>,
  body: string,
): string {
  return layout(title, ctx, `<section class="card narrow"><h2>${esc(title)}</h2>${body}</section>`);
}

export function loginForm(csrf: string, error?: string): string {
  return (
    (error ? `<p class="alert" role="alert">${esc(error)}</p>` : '') +
    `<form method="post" action="/board/login" class="login">` +
    `<input type="hidden" name="csrf" value="${esc(csrf)}">` +
    `<label for="login-name">Name</label><input id="login-name" name="name" autocomplete="username" required>` +
    `<label for="login-token">Token</label><input id="login-token" name="token" type="password" autocomplete="current-password" required>` +
    `<button type="submit">Sign in</button></form>`
  );
}
