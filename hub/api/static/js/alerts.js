// Active alerts for a page's scope, one per metric or feed, with the scopes in breach beneath
// listed rather than repeated; new, ongoing or worsening; acknowledged by a named person.
// Live: an alerts stream pushes the page's alerts whenever they or an acknowledgement change.
import { getJson, metricInfo, postJson, scopeKey } from "./api.js";
import { csvLink, downloads } from "./downloads.js";
import { el, formatValue, timeText, windowWords } from "./format.js";
import { LiveStream } from "./live.js";
import { noteForm } from "./note-form.js";
import { variationWords } from "./spc.js";

const SEVERITY = {
  red: { word: "Red", tag: "nhsuk-tag--red", symbol: "✕" },
  amber: { word: "Amber", tag: "nhsuk-tag--orange", symbol: "!" },
  info: { word: "Information", tag: "nhsuk-tag--blue", symbol: "i" },
};
const STATUS_TAG = { new: "nhsuk-tag--yellow", worsening: "nhsuk-tag--red", ongoing: "nhsuk-tag--grey" };
const NOUNS = { region: ["region", "regions"], org: ["organisation", "organisations"] };
const MEMBERS_SHOWN = 6;

function badge(name) {
  const s = SEVERITY[name] || SEVERITY.info;
  const tag = el("strong", `nhsuk-tag ${s.tag} hub-rag`);
  const symbol = el("span", "hub-rag__symbol", s.symbol);
  symbol.setAttribute("aria-hidden", "true");
  tag.append(symbol, el("span", "hub-rag__word", s.word));
  return tag;
}

/** Return "New", "Ongoing since 14:05" or "Worsening". */
export function statusWords(g) {
  if (g.status === "new") return "New";
  if (g.status === "worsening") return "Worsening";
  return `Ongoing since ${timeText(g.since).slice(0, 5)}`;
}

function statusTag(g) {
  const tag = el("strong", `nhsuk-tag ${STATUS_TAG[g.status] || "nhsuk-tag--grey"} hub-alert__status`, statusWords(g));
  tag.dataset.status = g.status;
  return tag;
}

function describe(a) {
  const unit = a.unit || metricInfo(a.metric).unit;
  if (a.type === "threshold") {
    const line = a.line === null ? "" : `; red ${a.better === "lower" ? "above" : "below"} ${formatValue(a.line, unit)}`;
    const when = a.window ? windowWords(a.window) : a.date ? `SitRep ${a.date}` : "now";
    const basis = a.basis && a.basis.of ? ` of ${metricInfo(a.basis.of).description.toLowerCase()} (${formatValue(a.basis.count, "count")} of ${formatValue(a.basis.denominator, "count")})` : "";
    return `${formatValue(a.value, unit)}${basis} (${when}${line})`;
  }
  if (a.type === "spc") {
    const band = a.lower === null || a.lower === undefined ? "" : `; ${formatValue(a.lower, unit)} to ${formatValue(a.upper, unit)} expected`;
    return `${a.message || variationWords(a.variation)}: ${formatValue(a.value, unit)} in the hour from ${timeText(a.hour).slice(0, 5)}${band}`;
  }
  return `Last received ${timeText(a.last_received_at)}`;
}

function title(g) {
  const where = g.scope.name;
  if (g.own.length) return `${where}: ${g.title}`;
  const parts = Object.entries(g.counts).map(([type, n]) => `${n} ${(NOUNS[type] || [type, type])[n === 1 ? 0 : 1]}`);
  return `${where}: ${g.title} (${parts.join(", ")})`;
}

function href(g) {
  const key = scopeKey(g.scope.type, g.scope.code);
  if (g.metric) return `/trend/${g.metric}/${key}`;
  return key === "national" ? "/" : `/${key}`;
}

function membersLine(g, ref) {
  if (!g.members.length) return null;
  const names = g.members.map((m) => {
    const short = m.scope.type === "org" && ref.orgs[m.scope.code] ? ref.orgs[m.scope.code].short_name || m.scope.name : m.scope.name;
    return m.value === undefined || m.value === null ? short : `${short} ${formatValue(m.value, m.unit)}`;
  });
  const more = names.length > MEMBERS_SHOWN ? `, and ${names.length - MEMBERS_SHOWN} more` : "";
  const line = el("span", "hub-alert__members", `In breach: ${names.slice(0, MEMBERS_SHOWN).join("; ")}${more}`);
  line.title = names.join("; ");
  return line;
}

function ackLine(ack) {
  const who = ack.job_role ? `${ack.by} (${ack.job_role})` : ack.by;
  const line = el("p", "hub-alert__ack", `Acknowledged by ${who} at ${timeText(ack.at).slice(0, 5)}${ack.note ? `: “${ack.note}”` : ""}`);
  return line;
}

export class AlertsPanel {
  constructor(scopeKeyValue, ref, { limit = 12, compact = false } = {}) {
    this.scopeKey = scopeKeyValue;
    this.ref = ref;
    this.limit = limit;
    this.compact = compact;
    this.element = el("div", "hub-alerts");
    this.showAll = false;
    this.open = null; // the alert whose acknowledgement form is open
    this.body = null;
  }

  /** Follow the page's alerts live; call `onNotes` when someone adds a note. */
  start(onNotes = () => {}) {
    const q = encodeURIComponent(this.scopeKey);
    this.live = new LiveStream(`/v1/alerts/stream?scope=${q}`, {
      onStatus: () => {},
      events: { alerts: (body) => this.render(body), notes: () => onNotes() },
    });
    this.live.start();
  }

  stop() {
    if (this.live) this.live.stop();
  }

  render(body, force = false) {
    this.body = body;
    if (!force && this.open && this.element.contains(document.activeElement)) return; // typing
    const alerts = body.alerts;
    const s = body.summary;
    const summary = el("p", "hub-alerts__summary");
    summary.dataset.total = String(s.total);
    summary.dataset.needsAttention = String(s.needs_attention);
    summary.textContent = alerts.length
      ? `${s.needs_attention} need${s.needs_attention === 1 ? "s" : ""} a person · ${s.total} active (${s.red} red, ${s.amber} amber, ${s.info} for information; ${s.acknowledged} acknowledged)`
      : "No active alerts.";
    const list = el("ul", "hub-alerts__list");
    const shown = this.showAll ? alerts : alerts.slice(0, this.limit);
    for (const g of shown) list.append(this.item(g));
    const parts = [summary, list];
    if (alerts.length > this.limit && !this.compact) {
      const more = el("button", "nhsuk-button nhsuk-button--secondary nhsuk-button--small hub-alerts__more",
        this.showAll ? "Show fewer alerts" : `Show all ${alerts.length} alerts`);
      more.type = "button";
      more.addEventListener("click", () => {
        this.showAll = !this.showAll;
        this.render(this.body);
        this.element.querySelector(".hub-alerts__more").focus();
      });
      parts.push(more);
    }
    if (!this.compact) parts.push(downloads(csvLink(`/v1/alerts?scope=${encodeURIComponent(this.scopeKey)}`, "Download alerts (CSV)")));
    this.element.replaceChildren(...parts);
  }

  item(g) {
    const li = el("li", `hub-alert hub-alert--${g.severity}${g.ack ? " hub-alert--acknowledged" : ""}`);
    li.dataset.alert = g.id;
    const link = el("a", "hub-alert__title", title(g));
    link.href = href(g);
    link.dataset.nav = "";
    const text = el("div", "hub-alert__text");
    const head = el("div", "hub-alert__head");
    head.append(statusTag(g), link);
    text.append(head);
    if (!this.compact) {
      for (const a of g.own) {
        const kind = { threshold: "Threshold", spc: "SPC", feed: "Feed" }[a.type];
        text.append(el("span", "hub-alert__detail", `${kind}: ${describe(a)}`));
      }
      const members = membersLine(g, this.ref);
      if (members) text.append(members);
    }
    if (g.ack) text.append(ackLine(g.ack));
    if (!this.compact && g.severity !== "info") text.append(this.ackControl(g));
    li.append(badge(g.severity), text);
    return li;
  }

  ackControl(g) {
    const box = el("div", "hub-alert__actions");
    if (this.open === g.id) {
      box.append(noteForm({
        submitLabel: "Acknowledge",
        noteLabel: "Note (optional): what is being done",
        onSubmit: async (note) => {
          await postJson(`/v1/alerts/${encodeURIComponent(g.id)}/ack`, { note });
          this.open = null;
          document.activeElement.blur();
          this.refreshNow();
        },
        onCancel: () => { this.open = null; this.render(this.body, true); },
      }));
      return box;
    }
    const button = el("button", "nhsuk-button nhsuk-button--secondary nhsuk-button--small hub-alert__ack-button",
      g.ack ? "Acknowledge again" : "Acknowledge");
    button.type = "button";
    button.addEventListener("click", () => {
      this.open = g.id;
      this.render(this.body, true);
      const field = this.element.querySelector(`[data-alert="${CSS.escape(g.id)}"] input, [data-alert="${CSS.escape(g.id)}"] textarea`);
      if (field) field.focus();
    });
    box.append(button);
    return box;
  }

  async refreshNow() {
    const q = this.scopeKey === "national" ? "" : `?scope=${encodeURIComponent(this.scopeKey)}`;
    this.render(await getJson(`/v1/alerts${q}`));
  }
}
