// The learning league: one proportion across organisations on a funnel plot. No ranks:
// organisations are listed by name; those beyond the 99.8% limits are named with their SPC chart.
import uPlot from "/static/vendor/uplot/uPlot.esm.js";
import { getJson } from "./api.js";
import { csvLink, downloads, pngButton } from "./downloads.js";
import { el, windowWords } from "./format.js";

export const LEAGUE = {
  "ed.four_hour_pct": ["A&E patients within 4 hours", "ed.four_hour_pct"],
  "ed.over_12h_from_arrival_pct": ["Type 1 A&E patients over 12 hours", "ed.over_12h_from_arrival_pct"],
  "ed.dta_over_12h_pct": ["Admitted patients over 12 hours from decision", "ed.dta_over_12h_pct"],
  "nhs111.answered_within_60s_pct": ["111 calls answered within 60 s", "nhs111.answered_within_60s_pct"],
  "nhs111.abandoned_pct": ["111 calls abandoned", "nhs111.abandoned_pct"],
  "handover.over_30_pct": ["Handovers over 30 minutes", "handover.over_30"],
  "handover.over_60_pct": ["Handovers over 60 minutes", "handover.over_60"],
};
const WINDOWS = ["4h", "24h", "since_midnight"];
const Z = { 95: 1.959963984540054, 998: 3.090232306167813 };
const FLAG_WORDS = { above: "Above the 99.8% limit", below: "Below the 99.8% limit", within: "Within the limits" };

/** Return the limit (in %) at denominator n, as the server computes it (arcsine scale, τ²). */
export function limitAt(targetPct, tau2, n, z) {
  const theta = Math.asin(Math.sqrt(targetPct / 100));
  const y = Math.min(Math.max(theta + z * Math.sqrt(1 / (4 * n) + tau2), 0), Math.PI / 2);
  return 100 * Math.sin(y) ** 2;
}

function links(items, current, label) {
  const nav = el("nav", "hub-periods");
  nav.setAttribute("aria-label", label);
  const list = el("ul", "hub-periods__list");
  for (const [text, href, key] of items) {
    const li = el("li", "hub-periods__item");
    const a = el("a", "hub-periods__link", text);
    a.href = href;
    a.dataset.nav = "";
    if (key === current) a.setAttribute("aria-current", "page");
    li.append(a);
    list.append(li);
  }
  nav.append(list);
  return nav;
}

export class LeaguePage {
  constructor(metric, ref, ctx, params) {
    this.metric = metric;
    this.ref = ref;
    this.ctx = ctx;
    this.window = WINDOWS.includes(params.get("window")) ? params.get("window") : "24h";
    this.kind = params.get("kind") || "";
  }

  render(main) {
    if (!LEAGUE[this.metric]) return false;
    this.ctx.setTitle(`Learning league: ${LEAGUE[this.metric][0]}`, "Funnel plot: each organisation against limits for its size", [["England", "/"]]);
    const q = (w) => `?window=${w}${this.kind ? `&kind=${this.kind}` : ""}`;
    const metrics = Object.entries(LEAGUE).map(([id, [text]]) => [text, `/league/${id}?window=${this.window}`, id]);
    const windows = WINDOWS.map((w) => [w === "since_midnight" ? "Since midnight" : windowWords(w), `/league/${this.metric}${q(w)}`, w]);
    this.chartBox = el("div", "hub-league__chart");
    this.dispersion = el("p", "nhsuk-body hub-league__dispersion");
    this.outliers = el("div", "hub-league__outliers");
    this.table = el("div", "hub-league__table");
    const about = el("p", "nhsuk-body-s", "Funnel plot (Spiegelhalter 2005): the dashed lines are 95% and 99.8% limits around the England proportion, "
      + "on the arcsine scale as NHS-R FunnelPlotR draws them, widened for real differences between organisations (over-dispersion, τ²). "
      + "The dotted lines are the same limits without that widening. A point outside the outer dashed funnel differs by more than chance, size "
      + "and the usual spread between organisations explain; one outside only the dotted funnel is listed too, because strong over-dispersion can hide it. "
      + "Organisations are listed by name, not ranked.");
    const q2 = new URLSearchParams({ metric: this.metric, window: this.window });
    if (this.kind) q2.set("kind", this.kind);
    const saves = downloads(pngButton(() => this.chart, `league-${this.metric}.png`, `Funnel plot: ${LEAGUE[this.metric][0]}`, "Download chart (PNG)"),
      csvLink(`/v1/league?${q2}`, "Download table (CSV)"));
    main.append(links(metrics, this.metric, "Measure"), links(windows, this.window, "Period"), this.dispersion, this.chartBox, saves, this.outliers, about, this.table);
    this.refresh();
    this.timer = setInterval(() => this.refresh(), 60_000);
    return true;
  }

  async refresh() {
    const q = new URLSearchParams({ metric: this.metric, window: this.window });
    if (this.kind) q.set("kind", this.kind);
    try {
      this.body = await getJson(`/v1/league?${q}`);
    } catch (err) {
      this.chartBox.replaceChildren(el("p", "nhsuk-body", `The league could not be read (${err.message}).`));
      return;
    }
    this.draw();
    this.renderDispersion();
    this.renderOutliers();
    this.renderTable();
    this.ctx.setUpdated(this.body.as_of);
    this.ctx.setStatus("live");
    this.ctx.ready();
  }

  draw() {
    const b = this.body;
    if (this.chart) this.chart.destroy();
    this.chartBox.replaceChildren();
    if (b.target === null || !b.units.length) {
      this.chartBox.append(el("p", "nhsuk-body", "No organisation has reported this measure in the period yet."));
      return;
    }
    const units = [...b.units].sort((a, c) => a.denominator - c.denominator);
    const top = Math.max(...units.map((u) => u.denominator)) * 1.2;
    const lowest = units[0].denominator / 5;
    const xs = [...new Set([...b.curve.map((c) => c.denominator), ...units.map((u) => u.denominator)])].sort((a, c) => a - c).filter((x) => x <= top && x >= lowest);
    const at = (z, sign, tau2 = b.overdispersion.tau2) => xs.map((n) => limitAt(b.target, tau2, n, sign * z));
    const value = xs.map((n) => { const u = units.find((x) => x.denominator === n); return u ? u.value : null; });
    const dashed = (label, stroke, dash) => ({ label, stroke, width: 1.5, dash, points: { show: false } });
    const opts = {
      width: Math.max(320, this.chartBox.clientWidth || 900), height: 420,
      scales: { x: { time: false, distr: 3 } },
      axes: [{ label: "Denominator (size)" }, { label: "%", size: 60 }],
      series: [{ label: "Denominator" }, { label: "Organisations", stroke: "#005eb8", paths: () => null, points: { show: true, size: 9, fill: "#005eb8" } },
        dashed("England", "#212b32"), dashed("Upper 95%", "#768692", [4, 4]), dashed("Lower 95%", "#768692", [4, 4]),
        dashed("Upper 99.8%", "#212b32", [8, 4]), dashed("Lower 99.8%", "#212b32", [8, 4]),
        dashed("Upper 99.8%, unadjusted", "#ae2573", [2, 3]), dashed("Lower 99.8%, unadjusted", "#ae2573", [2, 3])],
      hooks: { draw: [(u) => this.labels(u, units)] },
      legend: { live: false },
    };
    const data = [xs, value, xs.map(() => b.target), at(Z[95], 1), at(Z[95], -1), at(Z[998], 1), at(Z[998], -1),
      at(Z[998], 1, 0), at(Z[998], -1, 0)];
    this.chart = new uPlot(opts, data, this.chartBox);
    this.chartBox.dataset.units = String(units.length);
  }

  labels(u, units) {
    const ctx = u.ctx;
    ctx.save();
    ctx.font = `${Math.round(12 * devicePixelRatio)}px Arial`;
    ctx.fillStyle = "#212b32";
    for (const unit of units) {
      ctx.fillText(unit.code, u.valToPos(unit.denominator, "x", true) + 6 * devicePixelRatio, u.valToPos(unit.value, "y", true) - 4 * devicePixelRatio);
    }
    ctx.restore();
  }

  /** Say how over-dispersed the organisations are: φ, τ², and what that does to the limits. */
  renderDispersion() {
    const { phi, tau2, adjusted } = this.body.overdispersion;
    this.dispersion.dataset.phi = String(phi);
    this.dispersion.dataset.tau2 = String(tau2);
    if (phi === null) {
      this.dispersion.textContent = "Over-dispersion: not estimated (fewer than two organisations reported).";
      return;
    }
    this.dispersion.textContent = `Over-dispersion φ = ${phi.toFixed(2)}, τ² = ${tau2.toPrecision(4)}: `
      + (adjusted ? "organisations differ by more than chance, so the dashed limits are widened; the dotted ones are not."
        : "no more spread than chance, so the limits are not widened.");
  }

  renderOutliers() {
    const out = this.body.units.filter((u) => u.flag !== "within");
    const marked = this.body.units.filter((u) => u.marked);
    const box = el("section", "hub-league__outliers");
    box.append(el("h2", "hub-section__title", out.length ? "Beyond the 99.8% limits" : "No organisation is beyond the 99.8% limits"));
    if (out.length) box.append(this.unitList(out, (u) => FLAG_WORDS[u.flag].toLowerCase(), "hub-league__outlier"));
    if (marked.length) {
      box.append(el("h3", "hub-section__title", "Beyond the unadjusted 99.8% limits only"),
        el("p", "nhsuk-body-s", "Within the limits widened for over-dispersion, but outside the plain ones: worth a look."),
        this.unitList(marked, (u) => `${u.flag_unadjusted} the unadjusted 99.8% limit`, "hub-league__marked"));
    }
    this.outliers.replaceChildren(box);
  }

  unitList(units, words, className) {
    const list = el("ul", "nhsuk-list");
    for (const u of units) {
      const li = el("li", className);
      li.dataset.code = u.code;
      const a = el("a", "", `${u.name} (${u.code}): ${u.value.toFixed(1)}%, ${words(u)}`);
      a.href = `/trend/${LEAGUE[this.metric][1]}/org/${u.code}`;
      a.dataset.nav = "";
      li.append(a, el("span", "nhsuk-body-s", " · SPC chart"));
      list.append(li);
    }
    return list;
  }

  renderTable() {
    const table = el("table", "nhsuk-table hub-league-units");
    table.innerHTML = '<caption class="nhsuk-table__caption">Organisations (by name)</caption><thead class="nhsuk-table__head"><tr class="nhsuk-table__row">'
      + ["Organisation", "Value", "Numerator / denominator", "99.8% limits", "Against the limits", "Unadjusted 99.8% limits", "Against the unadjusted"]
        .map((h) => `<th class="nhsuk-table__header" scope="col">${h}</th>`).join("") + "</tr></thead>";
    const tbody = el("tbody", "nhsuk-table__body");
    for (const u of this.body.units) {
      const tr = el("tr", "nhsuk-table__row");
      tr.dataset.code = u.code;
      const td = (t) => el("td", "nhsuk-table__cell", t);
      tr.append(td(`${u.name} (${u.code})`), td(`${u.value.toFixed(1)}%`), td(`${u.numerator} / ${u.denominator}`),
        td(`${u.limits.lower998.toFixed(1)}–${u.limits.upper998.toFixed(1)}%`), td(FLAG_WORDS[u.flag]),
        td(`${u.unadjusted_limits.lower998.toFixed(1)}–${u.unadjusted_limits.upper998.toFixed(1)}%`),
        td(u.marked ? `${FLAG_WORDS[u.flag_unadjusted]} (marked)` : FLAG_WORDS[u.flag_unadjusted]));
      if (u.marked) tr.dataset.marked = "true";
      tbody.append(tr);
    }
    table.append(tbody);
    this.table.replaceChildren(table);
  }

  destroy() {
    clearInterval(this.timer);
    if (this.chart) this.chart.destroy();
  }
}
