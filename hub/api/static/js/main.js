// The control room's entry point: a small router over the page types, the header's live
// status, and the wall-screen mode (?wall=1) that cycles through England and each region.
import { initAll } from "/static/vendor/nhsuk/nhsuk-frontend.min.js";
import { loadReference } from "./api.js";
import { el, timeText } from "./format.js";
import { LeaguePage } from "./league-page.js";
import { OpelPage } from "./opel-page.js";
import { ScopePage } from "./scope-page.js";
import { TrendPage } from "./trend-page.js";
import { Wall } from "./wall.js";

const STATUS_WORDS = {
  live: "Live",
  reconnecting: "Reconnecting…",
  unavailable: "Data service unavailable: retrying",
};

// `delayed`: the page's figures lag what the hub accepted (workers stalled): never "Live".
const state = { page: null, updated: null, status: "connecting", wall: null, delayed: null };
window.hubStats = { events: 0, readyAt: null };

function main() {
  return document.getElementById("maincontent");
}

const ctx = {
  get wall() {
    return Boolean(state.wall);
  },
  setTitle(title, caption, trail) {
    document.title = `${title} – UEC control room`;
    const h1 = el("h1", "hub-title", title);
    h1.id = "page-title";
    h1.tabIndex = -1;
    const cap = el("span", "nhsuk-caption-l hub-caption", caption);
    main().replaceChildren(cap, h1);
    renderBreadcrumb(trail, title);
  },
  setStatus(status) {
    state.status = status;
    renderStatus();
  },
  /** Say the page's figures are delayed (the reason, as the API words it), or null. */
  setDelayed(text) {
    if (state.delayed === text) return;
    state.delayed = text;
    renderStatus();
  },
  setUpdated(iso) {
    state.updated = iso;
    if (state.wall) state.wall.setUpdated(iso);
    window.hubStats.events += 1;
    renderStatus();
  },
  ready() {
    if (!window.hubStats.readyAt) {
      window.hubStats.readyAt = performance.now();
      performance.mark("hub-ready");
    }
    document.body.dataset.ready = "true";
  },
};

function renderStatus() {
  const box = document.getElementById("live-status");
  const status = state.status === "live" && state.delayed ? "delayed" : state.status;
  box.dataset.status = status;
  if (status === "delayed") {
    const text = state.delayed;
    box.querySelector(".hub-status__text").textContent = text.charAt(0).toUpperCase() + text.slice(1);
    return;
  }
  const words = STATUS_WORDS[status] || "Connecting…";
  const when = state.updated && status === "live" ? ` · updated ${timeText(state.updated)}` : "";
  box.querySelector(".hub-status__text").textContent = words + when;
}

function renderBreadcrumb(trail, current) {
  const nav = document.getElementById("breadcrumb");
  if (!trail.length) {
    nav.replaceChildren();
    nav.hidden = true;
    return;
  }
  nav.hidden = false;
  const list = el("ol", "nhsuk-breadcrumb__list");
  for (const [name, href] of trail) {
    const li = el("li", "nhsuk-breadcrumb__list-item");
    const a = el("a", "nhsuk-breadcrumb__link", name);
    a.href = withWall(href);
    a.dataset.nav = "";
    li.append(a);
    list.append(li);
  }
  const here = el("li", "nhsuk-breadcrumb__list-item");
  here.append(el("span", "hub-breadcrumb__current", current));
  here.setAttribute("aria-current", "page");
  list.append(here);
  nav.replaceChildren(list);
}

function withWall(href) {
  if (!state.wall) return href;
  const url = new URL(href, location.origin);
  url.searchParams.set("wall", "1");
  return url.pathname + url.search;
}

/** Work out the page from the path: /, /region/X, /org/X, /site/X, /trend/METRIC/SCOPE,
 * /opel/org/X or /league/METRIC. */
function route(pathname) {
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (!parts.length) return { page: "scope", scope: { type: "national", code: null } };
  if (parts.length === 2 && ["region", "org", "site"].includes(parts[0])) {
    return { page: "scope", scope: { type: parts[0], code: parts[1] } };
  }
  if (parts.length === 3 && parts[0] === "opel" && parts[1] === "org") return { page: "opel", code: parts[2] };
  if (parts.length === 2 && parts[0] === "league") return { page: "league", metric: parts[1] };
  if (parts[0] === "trend" && parts.length >= 3) {
    const rest = parts.slice(2);
    const scope = rest[0] === "national" ? { type: "national", code: null } : { type: rest[0], code: rest[1] };
    return { page: "trend", metric: parts[1], scope };
  }
  return null;
}

function notFound() {
  ctx.setTitle("Page not found", "UEC control room", [["England", "/"]]);
  const p = el("p", "nhsuk-body", "There is no such page. ");
  const a = el("a", "", "Go to the national overview");
  a.href = "/";
  a.dataset.nav = "";
  p.append(a);
  main().append(p);
  ctx.ready();
}

async function render({ focus = false } = {}) {
  if (state.page) state.page.destroy();
  state.page = null;
  state.delayed = null;
  delete document.body.dataset.ready;
  const ref = await loadReference();
  const r = route(location.pathname);
  const params = new URLSearchParams(location.search);
  let page = null;
  if (r && r.page === "scope") page = new ScopePage(r.scope, ref, ctx);
  if (r && r.page === "trend") page = new TrendPage(r.metric, r.scope, ref, ctx, params);
  if (r && r.page === "opel") page = new OpelPage(r.code, ref, ctx);
  if (r && r.page === "league") page = new LeaguePage(r.metric, ref, ctx, params);
  if (!page || !page.render(main())) {
    if (page) page.destroy();
    notFound();
    return;
  }
  state.page = page;
  if (state.wall) state.wall.onPage(r);
  if (focus) document.getElementById("page-title").focus();
}

export function navigate(href, { replace = false } = {}) {
  const target = withWall(href);
  if (replace) history.replaceState({}, "", target);
  else history.pushState({}, "", target);
  return render({ focus: !replace });
}

document.addEventListener("click", (event) => {
  const a = event.target.closest("a[data-nav]");
  if (!a || event.defaultPrevented || event.button !== 0) return;
  if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener("popstate", () => render({ focus: true }));

if (new URLSearchParams(location.search).get("wall") === "1") {
  document.body.classList.add("hub-wall");
  state.wall = new Wall(navigate, new URLSearchParams(location.search));
}
initAll();
render().catch((err) => {
  main().replaceChildren(el("h1", "", "The control room could not start"), el("p", "nhsuk-body", String(err)));
});
