// Active alerts for a page's scope: red thresholds, SPC special causes and late feeds.
import { getJson, metricInfo, scopeKey } from "./api.js";
import { el, formatValue, timeText, windowWords } from "./format.js";
import { variationWords } from "./spc.js";

const SEVERITY = {
  red: { word: "Red", tag: "nhsuk-tag--red", symbol: "✕" },
  amber: { word: "Amber", tag: "nhsuk-tag--orange", symbol: "!" },
  info: { word: "Information", tag: "nhsuk-tag--blue", symbol: "i" },
};

function severityBadge(name) {
  const s = SEVERITY[name] || SEVERITY.info;
  const tag = el("strong", `nhsuk-tag ${s.tag} hub-rag`);
  const symbol = el("span", "hub-rag__symbol", s.symbol);
  symbol.setAttribute("aria-hidden", "true");
  tag.append(symbol, el("span", "hub-rag__word", s.word));
  return tag;
}
const LIMIT = 12;

function describe(a) {
  const unit = a.unit || metricInfo(a.metric).unit;
  if (a.type === "threshold") {
    const line = a.line === null ? "" : `; red ${a.better === "lower" ? "above" : "below"} ${formatValue(a.line, unit)}`;
    const when = a.window ? windowWords(a.window) : a.date ? `SitRep ${a.date}` : "now";
    return `${formatValue(a.value, unit)} (${when}${line})`;
  }
  if (a.type === "spc") {
    return `${variationWords(a.variation)}: ${formatValue(a.value, unit)} in the hour from ${timeText(a.hour).slice(0, 5)} (mean ${formatValue(a.mean, unit)})`;
  }
  return `Last received ${timeText(a.last_received_at)}`;
}

function href(a) {
  const key = scopeKey(a.scope.type, a.scope.code);
  if (a.metric) return `/trend/${a.metric}/${key}`;
  return key === "national" ? "/" : `/${key}`;
}

export class AlertsPanel {
  constructor(scopeKeyValue) {
    this.scopeKey = scopeKeyValue;
    this.element = el("div", "hub-alerts");
    this.showAll = false;
  }

  async refresh() {
    const q = this.scopeKey === "national" ? "" : `?scope=${encodeURIComponent(this.scopeKey)}`;
    const body = await getJson(`/v1/alerts${q}`);
    this.render(body);
  }

  render(body) {
    const alerts = body.alerts;
    const s = body.summary;
    const summary = el("p", "hub-alerts__summary");
    summary.textContent = alerts.length
      ? `${s.total} active: ${s.red} red, ${s.amber} amber, ${s.info} for information`
      : "No active alerts.";
    const list = el("ul", "hub-alerts__list");
    const shown = this.showAll ? alerts : alerts.slice(0, LIMIT);
    for (const a of shown) {
      const li = el("li", `hub-alert hub-alert--${a.severity}`);
      li.dataset.alert = a.id;
      const link = el("a", "hub-alert__title", `${a.scope.name}: ${a.title}`);
      link.href = href(a);
      link.dataset.nav = "";
      const kind = { threshold: "Threshold", spc: "SPC", feed: "Feed" }[a.type];
      const text = el("div", "hub-alert__text");
      text.append(link, el("span", "hub-alert__detail", `${kind}: ${describe(a)}`));
      li.append(severityBadge(a.severity), text);
      list.append(li);
    }
    const parts = [summary, list];
    if (alerts.length > LIMIT) {
      const more = el("button", "nhsuk-button nhsuk-button--secondary nhsuk-button--small hub-alerts__more",
        this.showAll ? "Show fewer alerts" : `Show all ${alerts.length} alerts`);
      more.type = "button";
      more.addEventListener("click", () => {
        this.showAll = !this.showAll;
        this.render(body);
        this.element.querySelector(".hub-alerts__more").focus();
      });
      parts.push(more);
    }
    this.element.replaceChildren(...parts);
  }
}
