// The feed freshness board: "10 of 11 ambulance services live", and each organisation's row.
import { getJson } from "./api.js";
import { agoText, el, timeText } from "./format.js";

const FEEDS = {
  "ambulance-handover": ["Ambulance handovers", "ambulance services"],
  "ambulance-incident": ["Ambulance incidents", "ambulance services"],
  "ambulance-sitrep": ["Ambulance daily SitRep", "ambulance services"],
  "ed-attendance": ["A&E attendances", "acute trusts"],
  "acute-sitrep": ["Acute daily SitRep", "acute trusts"],
  "nhs111-interval": ["NHS 111 intervals", "NHS 111 providers"],
};

const STATUS = {
  live: { word: "Live", tag: "nhsuk-tag--green", symbol: "✓" },
  late: { word: "Late", tag: "nhsuk-tag--orange", symbol: "!" },
  stale: { word: "Stale", tag: "nhsuk-tag--red", symbol: "✕" },
  never: { word: "Never received", tag: "nhsuk-tag--grey", symbol: "–" },
  partial: { word: "Partly live", tag: "nhsuk-tag--aqua-green", symbol: "◐" },
  delayed: { word: "Figures delayed", tag: "nhsuk-tag--orange", symbol: "!" },
};

/** Sum up a feed's rows: all live, the worst of late and stale, or live where ever sent. */
function overall(count, total) {
  if (count("live") === total) return "live";
  if (count("stale")) return "stale";
  if (count("late")) return "late";
  return count("live") ? "partial" : "never";
}

function statusTag(name) {
  const s = STATUS[name] || STATUS.never;
  const tag = el("strong", `nhsuk-tag ${s.tag} hub-rag`);
  tag.append(el("span", "hub-rag__symbol", s.symbol), el("span", "hub-rag__word", s.word));
  tag.firstChild.setAttribute("aria-hidden", "true");
  return tag;
}

/** Keep the rows a page should show: all, a region's, or one organisation's. */
function rowsFor(scope, ref, rows) {
  if (scope.type === "region") return rows.filter((r) => r.region === scope.code);
  if (scope.type === "org") return rows.filter((r) => r.org === scope.code);
  if (scope.type === "site") return rows.filter((r) => r.org === (ref.sites[scope.code] || {}).trust);
  return rows;
}

export class FreshnessBoard {
  constructor(scope, ref) {
    this.scope = scope;
    this.ref = ref;
    this.element = el("div", "hub-freshness");
    this.open = new Set();
  }

  async refresh() {
    const board = await getJson("/v1/freshness");
    const now = Date.now();
    const cards = [];
    for (const [feed, data] of Object.entries(board.feeds)) {
      const rows = rowsFor(this.scope, this.ref, data.organisations);
      if (!rows.length) continue;
      cards.push(this.card(feed, rows, now, data.application));
    }
    this.element.replaceChildren(...cards);
  }

  card(feed, rows, now, application) {
    const [label, noun] = FEEDS[feed] || [feed, "organisations"];
    const count = (s) => rows.filter((r) => r.status === s).length;
    const live = count("live");
    const item = el("div", "hub-feed");
    item.dataset.feed = feed;
    // Received is not applied: a feed whose records wait for the workers is not shown "Live".
    const delayed = Boolean(application && application.delayed);
    const status = delayed ? "delayed" : overall(count, rows.length);
    item.classList.add(`hub-feed--${status}`);
    const received = rows[0].last_received_at && agoText(rows[0].last_received_at, now);
    const summary = rows.length > 1 ? `${live} of ${rows.length} ${noun} live`
      : !received ? "Nothing received yet"
        : delayed ? `Last received ${received}` // received, but not in the figures yet
          : `${STATUS[rows[0].status].word}: last received ${received}`;
    const head = el("div", "hub-feed__head");
    const words = el("div", "hub-feed__words");
    words.append(el("span", "hub-feed__label", label), el("span", "hub-feed__summary", summary));
    const extra = ["late", "stale", "never"].map((s) => [s, count(s)]).filter(([, n]) => n)
      .map(([s, n]) => `${n} ${STATUS[s].word.toLowerCase()}`).join(", ");
    if (extra && rows.length > 1) words.append(el("span", "hub-feed__extra", extra));
    if (delayed) {
      const text = application.text;
      words.append(el("span", "hub-feed__delay", text.charAt(0).toUpperCase() + text.slice(1)));
    }
    head.append(statusTag(status), words);
    const details = el("details", "nhsuk-details hub-feed__details");
    details.open = this.open.has(feed);
    details.addEventListener("toggle", () => (details.open ? this.open.add(feed) : this.open.delete(feed)));
    const sum = el("summary", "nhsuk-details__summary");
    sum.append(el("span", "nhsuk-details__summary-text", rows.length === 1 ? "Show details" : `Show each of the ${rows.length}`));
    const table = el("table", "nhsuk-table hub-feed__table");
    const thead = el("thead", "nhsuk-table__head");
    thead.innerHTML = '<tr class="nhsuk-table__row"><th class="nhsuk-table__header" scope="col">Organisation</th><th class="nhsuk-table__header" scope="col">Last received</th><th class="nhsuk-table__header" scope="col">Status</th></tr>';
    const body = el("tbody", "nhsuk-table__body");
    for (const r of rows) {
      const tr = el("tr", "nhsuk-table__row");
      tr.dataset.org = r.org;
      const when = r.latest_date !== undefined
        ? `${r.latest_date ? `date ${r.latest_date}` : "no return"} · ${timeText(r.last_received_at)}`
        : `${timeText(r.last_received_at)} (${agoText(r.last_received_at, now)})`;
      const statusCell = el("td", "nhsuk-table__cell");
      statusCell.append(statusTag(r.status));
      tr.append(el("td", "nhsuk-table__cell", r.name), el("td", "nhsuk-table__cell", when), statusCell);
      body.append(tr);
    }
    table.append(thead, body);
    const inner = el("div", "nhsuk-details__text");
    inner.append(table);
    details.append(sum, inner);
    item.append(head, details);
    return item;
  }
}
