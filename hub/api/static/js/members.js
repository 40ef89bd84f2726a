// Sortable tables of the scopes one level down, updated in place from the live stream.
import { judgedWindow } from "./api.js";
import { csvButton, downloads } from "./downloads.js";
import { el, formatValue, ragBadge } from "./format.js";

// [header, metric, window when the metric has no RAG line]
export const COLUMNS = {
  region: [
    ["Waiting to hand over", "handover.waiting_now"],
    ["Handovers over 60 min", "handover.over_60"],
    ["Mean handover", "handover.mean_minutes"],
    ["Category 2 mean", "ambulance.c2.mean_seconds"],
    ["Category 2 waiting past standard", "ambulance.c2.over_target_now"],
    ["A&E within 4 hours", "ed.four_hour_pct"],
    ["111 answered in 60 s", "nhs111.answered_within_60s_pct"],
    ["G&A occupancy", "beds.ga_occupancy_pct"],
  ],
  acute: [
    ["Waiting to hand over", "handover.waiting_now"],
    ["Handovers over 60 min", "handover.over_60"],
    ["Mean handover", "handover.mean_minutes"],
    ["A&E within 4 hours", "ed.four_hour_pct"],
    ["In A&E now", "ed.in_department_now"],
    ["12-hour DTA waits (% of admitted)", "ed.dta_over_12h_pct"],
    ["G&A occupancy", "beds.ga_occupancy_pct"],
    ["OPEL", "opel.level"],
  ],
  site: [
    ["Waiting to hand over", "handover.waiting_now"],
    ["Longest wait", "handover.longest_wait_minutes"],
    ["Handovers over 60 min", "handover.over_60"],
    ["Mean handover", "handover.mean_minutes"],
    ["A&E within 4 hours", "ed.four_hour_pct"],
    ["In A&E now", "ed.in_department_now"],
  ],
  ambulance: [
    ["Incidents (24 h)", "ambulance.incidents", "24h"],
    ["Category 1 waiting past standard", "ambulance.c1.over_target_now"],
    ["Category 2 waiting past standard", "ambulance.c2.over_target_now"],
    ["Category 1 mean", "ambulance.c1.mean_seconds"],
    ["Category 2 mean", "ambulance.c2.mean_seconds"],
    ["Category 2 90th centile", "ambulance.c2.p90_seconds"],
    ["Handovers over 60 min", "handover.over_60"],
    ["Hours lost (24 h)", "handover.hours_lost", "24h"],
  ],
  nhs111: [
    ["Calls received (24 h)", "nhs111.calls_received", "24h"],
    ["Answered in 60 s", "nhs111.answered_within_60s_pct"],
    ["Abandoned", "nhs111.abandoned_pct"],
  ],
};

function cellWindow(entry, fallback, id) {
  return entry && entry.windows ? judgedWindow(id, fallback || "24h") : "";
}

function sortable(value) {
  if (value === null || value === undefined) return null;
  if (typeof value === "object") return (value["3"] || 0) + (value["4"] || 0);
  return value;
}

export class MembersTable {
  /** rows: [{key, name, href}] */
  constructor(title, kind, rows) {
    this.columns = COLUMNS[kind];
    this.rows = new Map();
    this.sort = { index: 0, dir: "ascending" };
    this.element = el("div", "hub-members nhsuk-table-container");
    const table = el("table", "nhsuk-table hub-members__table");
    table.dataset.kind = kind;
    const caption = el("caption", "nhsuk-table__caption nhsuk-table__caption--m", title);
    const head = el("thead", "nhsuk-table__head");
    const tr = el("tr", "nhsuk-table__row");
    this.headers = ["Name", ...this.columns.map((c) => c[0])].map((label, i) => {
      const th = el("th", `nhsuk-table__header${i ? " nhsuk-table__header--numeric" : ""}`);
      th.scope = "col";
      const button = el("button", "hub-sort", label);
      button.type = "button";
      button.addEventListener("click", () => this.sortBy(i));
      th.append(button);
      tr.append(th);
      return th;
    });
    head.append(tr);
    this.body = el("tbody", "nhsuk-table__body");
    table.append(caption, head, this.body);
    this.kind = kind;
    this.windows = this.columns.map(() => "");
    const download = csvButton(`Download ${title.toLowerCase()} (CSV)`, `${kind}-table.csv`,
      null, () => this.csvRows());
    download.dataset.table = kind;
    this.element.append(table, downloads(download));
    for (const row of rows) this.addRow(row);
    this.applySort();
  }

  addRow({ key, name, short, href }) {
    const tr = el("tr", "nhsuk-table__row");
    tr.dataset.scope = key;
    const th = el("th", "nhsuk-table__cell hub-members__name");
    th.scope = "row";
    const link = el("a", "", short || name);
    link.href = href;
    if (short && short !== name) link.title = name;
    link.dataset.nav = "";
    th.append(link);
    tr.append(th);
    const cells = this.columns.map(([, id]) => {
      const td = el("td", "nhsuk-table__cell nhsuk-table__cell--numeric", "…");
      td.dataset.metric = id;
      tr.append(td);
      return td;
    });
    this.body.append(tr);
    this.rows.set(key, { tr, name: short || name, cells, values: this.columns.map(() => null),
      raw: this.columns.map(() => null), rags: this.columns.map(() => null) });
  }

  has(key) {
    return this.rows.has(key);
  }

  /** Fill a member's row from its metrics body. */
  update(key, body) {
    const row = this.rows.get(key);
    if (!row) return;
    this.columns.forEach(([, id, fallback], i) => {
      const entry = body.metrics[id];
      const td = row.cells[i];
      if (!entry) {
        td.textContent = "n/a";
        td.title = "Not reported for this organisation";
        row.values[i] = null;
        return;
      }
      const window = cellWindow(entry, fallback, id);
      const value = window ? entry.windows[window] : entry.value;
      row.values[i] = sortable(value);
      row.raw[i] = value;
      row.rags[i] = entry.rag;
      this.windows[i] = window || "value";
      const text = el("span", "hub-members__value", formatValue(value, entry.unit));
      td.replaceChildren(text);
      td.dataset.value = JSON.stringify(value);
      td.dataset.window = window;
      if (entry.rag && entry.rag !== "none") td.append(" ", ragBadge(entry.rag, true));
      td.className = `nhsuk-table__cell nhsuk-table__cell--numeric hub-cell--${entry.rag || "none"}`;
    });
    if (this.sort.index > 0) this.applySort();
  }

  /** Return the table as CSV rows, the header first: raw values as the API sent them. */
  csvRows() {
    const header = ["scope", "name"];
    this.columns.forEach(([, id], i) => header.push(`${id}:${this.windows[i] || "value"}`, `${id}:rag`));
    const rows = [...this.rows.entries()].map(([key, row]) => {
      const out = [key, row.name];
      row.raw.forEach((v, i) => out.push(v, row.rags[i]));
      return out;
    });
    return [header, ...rows];
  }

  sortBy(index) {
    const same = this.sort.index === index;
    const dir = same && this.sort.dir === (index ? "descending" : "ascending")
      ? (index ? "ascending" : "descending")
      : (index ? "descending" : "ascending");
    this.sort = { index, dir };
    this.applySort();
  }

  applySort() {
    const { index, dir } = this.sort;
    const sign = dir === "ascending" ? 1 : -1;
    const rows = [...this.rows.values()].sort((a, b) => {
      if (index === 0) return sign * a.name.localeCompare(b.name, "en-GB");
      const x = a.values[index - 1], y = b.values[index - 1];
      if (x === null && y === null) return a.name.localeCompare(b.name, "en-GB");
      if (x === null) return 1;
      if (y === null) return -1;
      return sign * (x - y) || a.name.localeCompare(b.name, "en-GB");
    });
    const focused = document.activeElement;
    for (const row of rows) this.body.append(row.tr);
    if (focused && this.body.contains(focused)) focused.focus();
    this.headers.forEach((th, i) => {
      if (i === index) th.setAttribute("aria-sort", dir);
      else th.removeAttribute("aria-sort");
    });
  }
}
