// A trend page: a metric's XmR chart in one scope, with its icons, lines and data table.
import { annotations, metricInfo, postJson, scopeKey, series } from "./api.js";
import { csvLink, downloads, pngButton } from "./downloads.js";
import { el, formatValue, timeText } from "./format.js";
import { accuracyText, forecastChart, forecastOf } from "./intel.js";
import { LiveStream } from "./live.js";
import { noteForm } from "./note-form.js";
import { describeScope } from "./scope-page.js";
import { assuranceIcon, assuranceWords, labelledIcon, variationIcon, variationWords, xmrChart } from "./spc.js";

const HOURLY = [["24 hours", 1], ["3 days", 3], ["7 days", 7], ["14 days", 14]];
const DAILY = [["30 days", 30], ["90 days", 90], ["400 days", 400]];
const REFRESH_MS = 10_000;

function fromDays(days) {
  return new Date(Date.now() - days * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
}

export class TrendPage {
  constructor(metric, scope, ref, ctx, params) {
    this.metric = metric;
    this.scope = scope;
    this.ref = ref;
    this.ctx = ctx;
    this.key = scopeKey(scope.type, scope.code);
    const info = metricInfo(metric);
    this.info = info;
    const daily = info.kind === "sitrep" || params.get("resolution") === "day";
    this.resolution = daily ? "day" : "hour";
    const options = daily ? DAILY : HOURLY;
    const asked = Number(params.get("days"));
    this.days = options.some(([, d]) => d === asked) ? asked : options[0][1];
    this.fetchedAt = 0;
    this.chart = null;
  }

  render(main) {
    const where = describeScope(this.scope, this.ref);
    if (!where || !this.info.kind || this.info.kind === "gauge") return false;
    const back = where.trail.concat([[where.name, this.key === "national" ? "/" : `/${this.key}`]]);
    this.ctx.setTitle(`${this.info.description}: ${where.name}`, "Statistical process control (XmR) chart", back);
    this.icons = el("div", "hub-trend__icons");
    this.lines = el("dl", "nhsuk-summary-list hub-trend__lines");
    this.chartBox = el("div", "hub-trend__chart");
    this.table = el("div", "hub-trend__table");
    this.forecastBox = el("section", "hub-trend__forecast");
    const about = el("p", "nhsuk-body-s hub-trend__about", this.resolution === "hour"
      ? "Each hour is judged against what that hour usually is: the shaded band, from the same hour on the same weekday in up to 4 earlier weeks "
        + "(or the same hour on up to 7 earlier days, with under two weeks of history), with limits set by the week before the chart. "
        + "A point beyond its band, 2 of 3 near its edge, 7 in a row on one side of expected, or 7 rising or falling is a special cause: "
        + "orange for concern, blue for improvement, purple where neither applies. Alerts are raised by the first two. "
        + "Hours a feed was down, and percentages or means on fewer than 10 events, are not judged. The hour still under way is drawn hollow."
      : "Points beyond a process limit, 7 in a row on one side of the mean, 7 rising or falling, or 2 of 3 near a limit are special causes: "
        + "orange for concern, blue for improvement, purple where neither applies. The red dashed line is the target. "
        + "The period still under way is drawn hollow and is not judged.");
    this.notesBox = el("section", "hub-trend__notes");
    this.notesBox.setAttribute("aria-labelledby", "trend-notes-title");
    const q = new URLSearchParams({ metric: this.metric, scope: this.key, resolution: this.resolution, from: fromDays(this.days), spc: "true" });
    const name = `${this.metric}-${this.key.replace("/", "-")}`;
    const saves = downloads(pngButton(() => this.chart, `${name}.png`, this.info.description, "Download chart (PNG)"),
      csvLink(`/v1/series?${q}`, "Download figures (CSV)"));
    main.append(this.periods(), this.icons, this.chartBox, saves, this.notesBox, this.forecastBox, this.lines, about, this.table);
    this.notes = [];
    this.renderNotes();
    this.alertStream = new LiveStream(`/v1/alerts/stream?scope=${encodeURIComponent(this.key)}`, {
      onStatus: () => {}, events: { notes: () => this.refreshNotes() },
    });
    this.alertStream.start();
    this.refreshNotes();
    this.live = new LiveStream(`/v1/stream?scope=${encodeURIComponent(this.key)}`, {
      onMetrics: () => { if (Date.now() - this.fetchedAt > REFRESH_MS) this.refresh(); this.ctx.ready(); },
      onStatus: (s) => this.ctx.setStatus(s),
    });
    this.live.start();
    this.onResize = () => this.draw();
    window.addEventListener("resize", this.onResize);
    this.refresh();
    return true;
  }

  periods() {
    const nav = el("nav", "hub-periods");
    nav.setAttribute("aria-label", "Period");
    const list = el("ul", "hub-periods__list");
    const add = (label, resolution, days) => {
      const li = el("li", "hub-periods__item");
      const current = resolution === this.resolution && days === this.days;
      const a = el("a", "hub-periods__link", label);
      a.href = `/trend/${this.metric}/${this.key}?resolution=${resolution}&days=${days}`;
      a.dataset.nav = "";
      if (current) a.setAttribute("aria-current", "page");
      li.append(a);
      list.append(li);
    };
    if (this.info.kind !== "sitrep") HOURLY.forEach(([l, d]) => add(`Hourly, ${l}`, "hour", d));
    DAILY.forEach(([l, d]) => add(`Daily, ${l}`, "day", d));
    nav.append(list);
    return nav;
  }

  async refresh() {
    this.fetchedAt = Date.now();
    try {
      this.body = await series(this.metric, this.key, { resolution: this.resolution, from: fromDays(this.days) });
    } catch (err) {
      this.chartBox.replaceChildren(el("p", "nhsuk-body", `The series could not be read (${err.message}).`));
      return;
    }
    this.ctx.setUpdated(this.body.as_of);
    this.ctx.ready();
    this.renderIcons();
    this.renderLines();
    this.renderTable();
    this.draw();
    if (this.resolution === "hour") this.forecast = await forecastOf(this.metric, this.key);
    this.drawForecast();
  }

  drawForecast() {
    if (this.forecastChart) this.forecastChart.destroy();
    this.forecastChart = null;
    if (!this.forecast || this.resolution !== "hour") {
      this.forecastBox.replaceChildren();
      return;
    }
    const chart = el("div", "hub-trend__forecast-chart");
    const title = el("h2", "hub-section__title", "Next 24 hours: forecast with 80% and 95% ranges");
    this.forecastBox.replaceChildren(title, chart, el("p", "nhsuk-body-s hub-trend__accuracy", accuracyText(this.forecast)));
    this.forecastBox.dataset.method = this.forecast.method;
    const width = Math.max(300, this.chartBox.clientWidth || 800);
    this.forecastChart = forecastChart(chart, this.forecast, this.body.points, width);
    this.forecastBox.append(downloads(pngButton(() => this.forecastChart, `forecast-${this.metric}-${this.key.replace("/", "-")}.png`,
      `Forecast: ${this.info.description}`, "Download forecast chart (PNG)")));
  }

  draw() {
    if (!this.body) return;
    const width = Math.max(300, this.chartBox.clientWidth || 800);
    if (this.chart) this.chart.destroy();
    this.chartBox.replaceChildren();
    // A note marks the period it falls in (the chart's points are the periods' starts).
    const starts = this.body.points.map((p) => Date.parse(p.start));
    const marks = [...this.notes].reverse().map((n, i) => {
      const at = Date.parse(n.at);
      const start = starts.filter((s) => s <= at).pop();
      return start === undefined || at >= Date.parse(this.body.to) ? null : { x: start / 1000, label: String(i + 1) };
    }).filter(Boolean);
    this.chart = xmrChart(this.chartBox, this.body, width, marks);
    this.chartBox.dataset.notes = String(marks.length);
  }

  async refreshNotes() {
    try {
      this.notes = await annotations(this.key, { metric: this.metric, days: Math.max(this.days, 1) });
    } catch {
      return;
    }
    this.renderNotes();
    this.draw();
  }

  renderNotes() {
    if (this.notesBox.contains(document.activeElement)) return;
    const title = el("h2", "hub-section__title", "Notes on this chart");
    title.id = "trend-notes-title";
    const list = el("ol", "hub-notes__list");
    for (const n of [...this.notes].reverse()) {
      const until = n.until ? `–${timeText(n.until).slice(0, 5)}` : "";
      const li = el("li", "hub-note", `${timeText(n.at).slice(0, 14)}${until}: ${n.text} — ${n.by}${n.job_role ? `, ${n.job_role}` : ""}`);
      li.dataset.note = n.id;
      list.append(li);
    }
    const form = noteForm({
      submitLabel: "Add note",
      noteLabel: "Add a note at this time (e.g. “ED IT outage 14:00–15:30”)",
      required: true,
      onSubmit: async (text) => {
        await postJson("/v1/annotations", { scope: this.key, metric: this.metric, text });
        document.activeElement.blur();
        await this.refreshNotes();
      },
    });
    const empty = this.notes.length ? [] : [el("p", "hub-notes__empty", "No notes in this period. Numbered lines on the chart mark notes.")];
    this.notesBox.replaceChildren(title, ...empty, list, form);
  }

  renderIcons() {
    const spc = this.body.spc;
    const v = labelledIcon(variationIcon(spc.variation, 56), variationWords(spc.variation), "hub-spc--large");
    v.dataset.variation = spc.variation;
    const a = labelledIcon(assuranceIcon(spc.assurance, 56), assuranceWords(spc.assurance), "hub-spc--large");
    a.dataset.assurance = spc.assurance || "";
    this.icons.replaceChildren(v, a);
  }

  renderLines() {
    const spc = this.body.spc;
    const unit = this.body.unit;
    const common = [
      ["Target", spc.target === null ? "none" : formatValue(spc.target, unit)],
      ["Improvement is", { increase: "higher", decrease: "lower", neutral: "neither direction" }[spc.direction]],
    ];
    const rows = spc.chart === "seasonal" ? [...this.seasonalLines(spc, unit), ...common] : [
      ["Mean", formatValue(spc.mean, unit)],
      ["Process limits", spc.upper_limit === null ? "not enough points" : `${formatValue(spc.lower_limit, unit)} to ${formatValue(spc.upper_limit, unit)}`],
      ...common,
      ["Points", `${spc.points_used} complete${spc.trial_limits ? " (fewer than 12: trial limits)" : ""}`],
    ];
    this.lines.replaceChildren(...rows.map(([k, v]) => {
      const row = el("div", "nhsuk-summary-list__row");
      row.append(el("dt", "nhsuk-summary-list__key", k), el("dd", "nhsuk-summary-list__value", v));
      return row;
    }));
  }

  seasonalLines(spc, unit) {
    const latest = [...this.body.points].reverse().find((p) => p.complete && typeof p.upper === "number");
    const basis = !latest ? "not enough history yet: an hour needs 3 earlier days"
      : latest.season === "week" ? "the same hour on the same weekday, up to 4 earlier weeks"
        : "the same hour of the day, up to 7 earlier days (the weekday once two weeks exist)";
    const band = latest ? `${formatValue(latest.lower, unit)} to ${formatValue(latest.upper, unit)} (expected ${formatValue(latest.expected, unit)})` : "none yet";
    return [
      ["Expected from", basis],
      [latest ? `Band of the hour from ${timeText(latest.start).slice(0, 5)}` : "Band", band],
      ["Hours", `${spc.points_used} judged; limits from ${spc.baseline_points} hours before${spc.trial_limits ? " (fewer than 12: trial limits)" : ""}`],
    ];
  }

  renderTable() {
    const details = el("details", "nhsuk-details");
    const summary = el("summary", "nhsuk-details__summary");
    summary.append(el("span", "nhsuk-details__summary-text", "Show the figures as a table"));
    const table = el("table", "nhsuk-table");
    const hourly = this.body.spc && this.body.spc.chart === "seasonal";
    table.innerHTML = '<thead class="nhsuk-table__head"><tr class="nhsuk-table__row"><th class="nhsuk-table__header" scope="col">Period</th>'
      + '<th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col">Value</th>'
      + (hourly ? '<th class="nhsuk-table__header" scope="col">Expected band</th>' : "")
      + '<th class="nhsuk-table__header" scope="col">Special cause</th></tr></thead>';
    const tbody = el("tbody", "nhsuk-table__body");
    for (const p of [...this.body.points].reverse()) {
      const tr = el("tr", "nhsuk-table__row");
      const when = this.body.resolution === "day" ? (p.date || p.start.slice(0, 10)) : timeText(p.start).slice(0, 14);
      const cause = p.special_cause ? `${p.special_cause.replace(/_/g, " ")} (${p.kind}, ${p.side})` : p.complete ? "" : "period not over";
      const unit = this.body.unit;
      const band = typeof p.upper === "number" ? `${formatValue(p.lower, unit)} to ${formatValue(p.upper, unit)}` : "";
      tr.append(el("td", "nhsuk-table__cell", when), el("td", "nhsuk-table__cell nhsuk-table__cell--numeric", formatValue(p.value, unit)),
        ...(hourly ? [el("td", "nhsuk-table__cell", band)] : []), el("td", "nhsuk-table__cell", cause));
      tbody.append(tr);
    }
    table.append(tbody);
    const inner = el("div", "nhsuk-details__text");
    inner.append(table);
    details.append(summary, inner);
    const previous = this.table.querySelector("details");
    details.open = Boolean(previous && previous.open);
    this.table.replaceChildren(details);
  }

  destroy() {
    if (this.live) this.live.stop();
    if (this.alertStream) this.alertStream.stop();
    if (this.chart) this.chart.destroy();
    if (this.forecastChart) this.forecastChart.destroy();
    window.removeEventListener("resize", this.onResize);
  }
}
