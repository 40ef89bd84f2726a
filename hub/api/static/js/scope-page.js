// A scope's page (national, region, organisation or site): tiles, alerts, members, freshness.
import { annotations, postJson, scopeKey } from "./api.js";
import { AlertsPanel } from "./alerts.js";
import { csvLink, downloads } from "./downloads.js";
import { el, timeText } from "./format.js";
import { FreshnessBoard } from "./freshness.js";
import { opelTile } from "./intel.js";
import { LiveStream } from "./live.js";
import { MembersTable } from "./members.js";
import { noteForm } from "./note-form.js";
import { Tiles, tilesFor, WALL_TILES } from "./tiles.js";
import { feedSummary } from "./wall.js";

const KIND_WORDS = { acute: "Acute trust", ambulance: "Ambulance service", nhs111: "NHS 111 provider" };
const TREND_EVERY_MS = 30_000;
const PANELS_EVERY_MS = 5_000;

function memberRows(list) {
  return list.map((x) => ({ key: x.key, name: x.name, short: x.short, href: `/${x.key}` }));
}

/** Return the member tables of a scope: [title, kind, rows]. */
export function memberTables(scope, ref) {
  if (scope.type === "national") {
    return [["Regions", "region", memberRows(ref.regionList.map((r) => ({ key: `region/${r.code}`, name: r.name })))]];
  }
  if (scope.type === "region") {
    const orgs = ref.orgList.filter((o) => o.region === scope.code);
    const of = (role) => memberRows(orgs.filter((o) => o.roles.includes(role)).map((o) => ({ key: `org/${o.code}`, name: o.name, short: o.short_name })));
    return [["Acute trusts", "acute", of("acute")], ["Ambulance services", "ambulance", of("ambulance")],
      ["NHS 111 providers", "nhs111", of("nhs111")]].filter(([, , rows]) => rows.length);
  }
  if (scope.type === "org") {
    const sites = ref.siteList.filter((s) => s.trust === scope.code);
    if (sites.length) return [["Hospital sites", "site", memberRows(sites.map((s) => ({ key: `site/${s.code}`, name: s.name })))]];
  }
  return [];
}

/** Return the display name, a line describing the scope, and its breadcrumb trail. */
export function describeScope(scope, ref) {
  if (scope.type === "national") return { name: "England", caption: "National overview", trail: [] };
  if (scope.type === "region") {
    const r = ref.regions[scope.code];
    return r && { name: r.name, caption: "NHS England region", trail: [["England", "/"]] };
  }
  if (scope.type === "org") {
    const o = ref.orgs[scope.code];
    if (!o) return null;
    const r = ref.regions[o.region];
    const kinds = o.roles.map((x) => KIND_WORDS[x]).join(", ");
    return { name: o.name, caption: `${kinds} · ${scope.code} · ${r.name}`, trail: [["England", "/"], [r.name, `/region/${r.code}`]] };
  }
  const s = ref.sites[scope.code];
  if (!s) return null;
  const o = ref.orgs[s.trust];
  const r = ref.regions[o.region];
  return { name: s.name, caption: `Hospital site · ${scope.code} · ${o.name}`,
    trail: [["England", "/"], [r.name, `/region/${r.code}`], [o.name, `/org/${o.code}`]] };
}

/** Return what delays this scope's figures the most (the oldest records waiting), or null. */
export function delayedText(body) {
  let worst = null;
  for (const entry of Object.values(body.metrics)) {
    const q = entry.quality;
    if (q && q.status === "delayed" && (!worst || q.oldest_pending_s > worst.oldest_pending_s)) worst = q;
  }
  return worst ? worst.text.split("; ")[0] : null;
}

function section(id, title, content, hidden = false) {
  const s = el("section", `hub-section hub-section--${id}`);
  s.setAttribute("aria-labelledby", `${id}-title`);
  const h = el("h2", hidden ? "nhsuk-u-visually-hidden" : "hub-section__title", title);
  h.id = `${id}-title`;
  s.append(h, content);
  return s;
}

export class ScopePage {
  constructor(scope, ref, ctx) {
    this.scope = scope;
    this.ref = ref;
    this.ctx = ctx;
    this.key = scopeKey(scope.type, scope.code);
    this.timers = [];
    this.trendsAt = 0;
    this.panelsAt = 0;
  }

  render(main) {
    const info = describeScope(this.scope, this.ref);
    if (!info) return false;
    this.ctx.setTitle(info.name, info.caption, info.trail);
    if (this.ctx.wall && (this.scope.type === "national" || this.scope.type === "region")) return this.renderWall(main);
    this.tiles = new Tiles(this.key, tilesFor(this.scope, this.ref));
    this.alerts = new AlertsPanel(this.key, this.ref);
    this.freshness = new FreshnessBoard(this.scope, this.ref);
    this.tables = memberTables(this.scope, this.ref).map(([t, kind, rows]) => new MembersTable(t, kind, rows));
    if (this.scope.type === "org" && (this.ref.orgs[this.scope.code].roles || []).includes("acute")) {
      this.opel = opelTile(this.scope.code);
      this.tiles.element.prepend(this.opel.root);
      this.opel.refresh();
    }
    const side = el("div", "hub-columns");
    side.append(section("alerts", "Active alerts", this.alerts.element),
      section("freshness", "Feed freshness", this.freshness.element));
    this.notesBox = el("div", "hub-notes");
    const parts = [section("tiles", "Key figures", this.tiles.element, true), side,
      section("notes", "Notes on this page", this.notesBox)];
    this.freshnessDownloads = downloads(csvLink("/v1/freshness", "Download feed freshness (CSV)"));
    this.freshness.element.after(this.freshnessDownloads);
    if (this.tables.length) {
      const wrap = el("div", "hub-tables");
      wrap.append(...this.tables.map((t) => t.element));
      const title = { national: "Regions", region: "Organisations in this region", org: "Hospital sites" }[this.scope.type];
      parts.push(section("members", title, wrap, true));
    }
    main.append(...parts);
    const members = this.tables.length ? "&members=true" : "";
    this.live = new LiveStream(`/v1/stream?scope=${encodeURIComponent(this.key)}${members}`, {
      onMetrics: (body) => this.onMetrics(body),
      onStatus: (s) => this.ctx.setStatus(s),
    });
    this.live.start();
    this.alerts.start(() => this.refreshNotes());
    this.refreshPanels();
    this.refreshNotes();
    this.timers.push(setInterval(() => this.refreshPanels(), 15_000));
    this.timers.push(setInterval(() => this.refreshTrends(), 60_000));
    return true;
  }

  /** The wall screen: a few large figures, the alerts that need a person, feeds and a clock. */
  renderWall(main) {
    this.tiles = new Tiles(this.key, WALL_TILES);
    this.alerts = new AlertsPanel(this.key, this.ref, { limit: 6, compact: true });
    this.feeds = el("p", "hub-wall__feeds");
    const side = el("div", "hub-wall__side");
    side.append(section("alerts", "Alerts needing a person", this.alerts.element), this.feeds);
    const grid = el("div", "hub-wall__grid");
    grid.append(section("tiles", "Key figures", this.tiles.element, true), side);
    main.append(grid);
    this.tables = [];
    this.live = new LiveStream(`/v1/stream?scope=${encodeURIComponent(this.key)}`, {
      onMetrics: (body) => this.onMetrics(body),
      onStatus: (s) => this.ctx.setStatus(s),
    });
    this.live.start();
    this.alerts.start();
    this.refreshWallFeeds();
    this.timers.push(setInterval(() => this.refreshWallFeeds(), 15_000));
    this.timers.push(setInterval(() => this.refreshTrends(), 60_000));
    return true;
  }

  async refreshWallFeeds() {
    try {
      this.feeds.textContent = await feedSummary(this.scope);
      this.feeds.dataset.ready = "true";
    } catch {
      this.feeds.textContent = "Feed freshness unavailable.";
    }
  }

  async refreshNotes() {
    if (!this.notesBox) return;
    let notes;
    try {
      notes = await annotations(this.key, { days: 1 });
    } catch {
      return;
    }
    this.tiles.showNotes(notes);
    const list = el("ul", "hub-notes__list");
    for (const n of notes.filter((x) => !x.metric).slice(0, 5)) {
      const li = el("li", "hub-note", `${timeText(n.at).slice(0, 5)} ${n.text} — ${n.by}${n.job_role ? `, ${n.job_role}` : ""}`);
      li.dataset.note = n.id;
      list.append(li);
    }
    const form = noteForm({
      submitLabel: "Add note",
      noteLabel: "Add a note about this page (e.g. “divert agreed until 16:00”)",
      required: true,
      onSubmit: async (text) => {
        await postJson("/v1/annotations", { scope: this.key, text });
        this.refreshNotes();
      },
    });
    const details = el("details", "nhsuk-details hub-notes__add");
    const summary = el("summary", "nhsuk-details__summary");
    summary.append(el("span", "nhsuk-details__summary-text", "Add a note"));
    const inner = el("div", "nhsuk-details__text");
    inner.append(form);
    details.append(summary, inner);
    const empty = list.children.length ? [] : [el("p", "hub-notes__empty", "No notes about this page today.")];
    if (!this.notesBox.contains(document.activeElement)) this.notesBox.replaceChildren(...empty, list, details);
  }

  onMetrics(body) {
    const key = scopeKey(body.scope.type, body.scope.code);
    if (key === this.key) {
      this.tiles.update(body);
      this.ctx.setDelayed(delayedText(body));
      this.ctx.setUpdated(body.as_of);
      this.ctx.ready();
      if (Date.now() - this.trendsAt > TREND_EVERY_MS) this.refreshTrends();
      if (Date.now() - this.panelsAt > PANELS_EVERY_MS) this.refreshPanels();
    }
    for (const table of this.tables) table.update(key, body);
  }

  refreshTrends() {
    this.trendsAt = Date.now();
    return this.tiles.refreshTrends();
  }

  refreshPanels() {
    this.panelsAt = Date.now();
    if (this.opel) this.opel.refresh();
    if (!this.freshness) return;
    this.freshness.refresh().catch(() => this.freshness.element.replaceChildren(el("p", "", "Freshness unavailable.")));
  }

  destroy() {
    if (this.live) this.live.stop();
    if (this.alerts) this.alerts.stop();
    this.timers.forEach(clearInterval);
  }
}
