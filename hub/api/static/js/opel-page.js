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
    const about = el("p", "nhsuk-body-s", "Each parameter scores 1 point in its best band to 4 in its worst. The score is the weighted mean of the points "
      + "of the parameters that count (1.0 when all are in their best band, 4.0 when all are in their worst), and each row's contribution is its share of it. "
      + "A parameter not reported, whose feed is not live, or resting on too few records since midnight is named and left out, never counted as zero; "
      + "with too little of the weight left there is no level. Bands, weights and cut-offs come from config/opel.toml and are examples until replaced with the framework's own.");
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
    const cov = body.coverage;
    const cuts = Object.entries(body.cut_offs).map(([level, at]) => `OPEL ${level} from ${at}`).join(", ");
    const rows = [["Computed level", body.level ? `OPEL ${body.level}` : `none: ${body.reason}`],
      ["Declared level", declared],
      ["Score", body.score === null ? "–" : `${body.score.toFixed(3)} (1.0 all best, 4.0 all worst)`],
      ["Cut-offs", cuts],
      ["Weight counted", `${cov.weight_counted} of ${cov.weight_total} (${cov.pct}%; at least ${cov.minimum_pct}% needed)`],
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
      + ["Parameter", "Value", "Band", "Points × weight", "Contribution", "Next band at", "Counted?"].map((h) => `<th class="nhsuk-table__header" scope="col">${h}</th>`).join("")
      + "</tr></thead>";
    const tbody = el("tbody", "nhsuk-table__body");
    for (const p of body.parameters) {
      const tr = el("tr", "nhsuk-table__row");
      tr.dataset.parameter = p.name;
      tr.dataset.status = p.status;
      const records = p.count === null ? "" : `, ${p.count} records`;
      const label = `${p.label} (${WINDOW_WORDS[p.window] || p.window}${records})`;
      const value = p.value === null ? "not reported" : formatValue(p.value, p.unit);
      const next = p.next_band_at === null ? (p.points ? "worst band" : "–") : `${formatValue(p.next_band_at, p.unit)} (${p.worse} is worse)`;
      const share = p.contribution === null ? "–" : p.contribution.toFixed(3);
      tr.append(cell(label), cell(value, true), cell(p.band || "–"), cell(p.points ? `${p.points} × ${p.weight}` : "–", true),
        cell(share, true), cell(next), cell(p.status === "counted" ? "Yes" : `No: ${p.reason}`));
      tbody.append(tr);
    }
    if (body.score !== null) {
      const total = el("tr", "nhsuk-table__row hub-opel-params__total");
      total.append(el("th", "nhsuk-table__header", "Score (the contributions added up)"), cell(""), cell(""), cell(""),
        cell(body.score.toFixed(3), true), cell(""), cell(""));
      total.firstChild.scope = "row";
      tbody.append(total);
    }
    table.append(tbody);
    this.table.replaceChildren(table);
  }

  destroy() {
    clearInterval(this.timer);
  }
}
