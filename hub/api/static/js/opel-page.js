// A trust's computed OPEL: each parameter's value, band, points and distance to the next band.
import { getJson } from "./api.js";
import { el, formatValue } from "./format.js";
import { describeScope } from "./scope-page.js";

const WINDOW_WORDS = { since_midnight: "since midnight", now: "now", latest: "latest SitRep", "15m": "last 15 minutes",
  "1h": "last hour", "4h": "last 4 hours", "24h": "last 24 hours" };

function cell(text, numeric = false) {
  return el("td", `nhsuk-table__cell${numeric ? " nhsuk-table__cell--numeric" : ""}`, text);
}

export class OpelPage {
  constructor(code, ref, ctx) {
    this.code = code;
    this.ref = ref;
    this.ctx = ctx;
  }

  render(main) {
    const where = describeScope({ type: "org", code: this.code }, this.ref);
    const org = this.ref.orgs[this.code];
    if (!where || !org || !org.roles.includes("acute")) return false;
    this.ctx.setTitle(`Computed OPEL: ${where.name}`, "Escalation computed from live data, parameter by parameter",
      where.trail.concat([[where.name, `/org/${this.code}`]]));
    this.summary = el("div", "hub-opel__summary");
    this.table = el("div", "hub-opel__table");
    const about = el("p", "nhsuk-body-s", "Bands, weights and the score-to-level mapping come from config/opel.toml. "
      + "The shipped values are examples until replaced with the framework's own; a parameter not reported is shown as not reported and left out of the score, never counted as zero.");
    main.append(this.summary, this.table, about);
    this.refresh();
    this.timer = setInterval(() => this.refresh(), 60_000);
    return true;
  }

  async refresh() {
    let body;
    try {
      body = await getJson(`/v1/opel/org/${this.code}`);
    } catch (err) {
      this.summary.replaceChildren(el("p", "nhsuk-body", `OPEL could not be computed (${err.message}).`));
      return;
    }
    const declared = body.declared ? `OPEL ${body.declared.level} (SitRep ${body.declared.date})` : "none submitted";
    const rows = [["Computed level", body.level ? `OPEL ${body.level}` : "not enough parameters reported"],
      ["Declared level", declared], ["Score", body.score === null ? "–" : `${body.score} of ${body.max_score}`],
      ["Framework", `${body.framework} (config version ${body.version})`]];
    const list = el("dl", "nhsuk-summary-list");
    for (const [k, v] of rows) {
      const row = el("div", "nhsuk-summary-list__row");
      row.append(el("dt", "nhsuk-summary-list__key", k), el("dd", "nhsuk-summary-list__value", v));
      list.append(row);
    }
    list.dataset.level = String(body.level ?? "");
    this.summary.replaceChildren(list);
    this.renderTable(body);
    this.ctx.setUpdated(body.computed_at);
    this.ctx.setStatus("live");
    this.ctx.ready();
  }

  renderTable(body) {
    const table = el("table", "nhsuk-table hub-opel-params");
    table.innerHTML = '<caption class="nhsuk-table__caption">Parameters</caption><thead class="nhsuk-table__head"><tr class="nhsuk-table__row">'
      + ["Parameter", "Value", "Band", "Points × weight", "Next band at", "Data"].map((h) => `<th class="nhsuk-table__header" scope="col">${h}</th>`).join("")
      + "</tr></thead>";
    const tbody = el("tbody", "nhsuk-table__body");
    for (const p of body.parameters) {
      const tr = el("tr", "nhsuk-table__row");
      tr.dataset.parameter = p.name;
      const label = `${p.label} (${WINDOW_WORDS[p.window] || p.window})`;
      const value = p.value === null ? "not reported" : formatValue(p.value, p.unit);
      const next = p.next_band_at === null ? (p.points ? "worst band" : "–") : `${formatValue(p.next_band_at, p.unit)} (${p.worse} is worse)`;
      tr.append(cell(label), cell(value, true), cell(p.band || "–"), cell(p.points ? `${p.points} × ${p.weight}` : "–", true), cell(next),
        cell(p.stale ? "Stale: feed not live" : "Live"));
      tbody.append(tr);
    }
    table.append(tbody);
    this.table.replaceChildren(table);
  }

  destroy() {
    clearInterval(this.timer);
  }
}
