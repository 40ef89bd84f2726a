// Control-room intelligence on existing pages: the computed-vs-declared OPEL tile, the
// "next 4 h" forecast line on tiles, and the forecast band chart on trend pages.
import uPlot from "/static/vendor/uplot/uPlot.esm.js";
import { getJson } from "./api.js";
import { el, formatValue } from "./format.js";

export const FORECAST_METRICS = ["ed.arrivals", "handover.arrivals", "nhs111.calls_received"];

function levelWords(level) {
  return level ? `OPEL ${level}` : "no level";
}

/** Return a tile saying "computed OPEL 3 · declared OPEL 2", linking to the parameter page. */
export function opelTile(code) {
  const root = el("li", "hub-opel-tile");
  root.dataset.metric = "opel.computed";
  const heading = el("h3", "hub-tile__label");
  const link = el("a", "hub-tile__link", "Computed OPEL (from live data)");
  link.href = `/opel/org/${code}`;
  link.dataset.nav = "";
  heading.append(link);
  const value = el("p", "hub-tile__value hub-tile__value--long", "…");
  const note = el("p", "hub-tile__period", "");
  root.append(heading, note, value);
  const refresh = async () => {
    try {
      const body = await getJson(`/v1/opel/org/${code}`);
      const declared = body.declared ? `declared ${levelWords(body.declared.level)} (${body.declared.date})` : "no declared level";
      value.textContent = `computed ${levelWords(body.level)} · ${declared}`;
      value.dataset.computed = String(body.level ?? "");
      value.dataset.declared = body.declared ? String(body.declared.level) : "";
      const left = body.excluded.length;
      note.textContent = body.score === null ? `no computed level: ${body.reason}`
        : `score ${body.score.toFixed(2)} of 4; ${body.coverage.pct}% of the weight counted${left ? `, ${left} parameter(s) left out` : ""}`;
    } catch (err) {
      value.textContent = "unavailable";
    }
  };
  return { root, refresh };
}

/** Return the forecast of a metric in a scope, or null when there is none yet. */
export async function forecastOf(metric, scope) {
  if (!FORECAST_METRICS.includes(metric)) return null;
  try {
    return await getJson(`/v1/forecast?metric=${encodeURIComponent(metric)}&scope=${encodeURIComponent(scope)}`);
  } catch {
    return null;
  }
}

/** Return the words of a tile's forecast line: "next 4 h: expected N (range a–b)". */
export function nextHoursText(body, hours = 4) {
  const t = body.totals.find((x) => x.hours === hours);
  if (!t) return "";
  const n = (v) => Math.round(v).toLocaleString("en-GB");
  const range = t.lower80 === null ? "no range yet" : `range ${n(t.lower80)}–${n(t.upper80)}`;
  return `next ${hours} h: expected ${n(t.mean)} (${range})`;
}

const METHOD_WORDS = {
  ets_week: "Exponential smoothing by hour of the week (ETS)",
  ets_day: "Exponential smoothing by hour of the day (ETS)",
  seasonal_naive_24: "Same hour yesterday (seasonal naive)",
};
const BASELINE_WORDS = { seasonal_naive_24: "same hour yesterday", seasonal_naive_168: "same hour last week" };

/** Describe the forecast's measured accuracy honestly, or say there is not enough history. */
export function accuracyText(body) {
  const a = body.accuracy;
  const method = METHOD_WORDS[body.method] || body.method;
  if (!a || a.mase === null) {
    const days = Math.round((body.interval_history_hours || 72) / 24);
    return `${method}. Ranges and accuracy once ${days} days of history exist.`;
  }
  const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(100 * x)}%`);
  const vs = (body.baselines || []).filter((b) => b.mase !== null)
    .map((b) => `${BASELINE_WORDS[b.method] || b.method} ${b.mase.toFixed(2)}`).join(", ");
  const day = (a.totals || []).find((t) => t.hours === 24);
  const totals = day ? ` For the next 24 hours' total: ${pct(day.coverage80)} and ${pct(day.coverage95)}.` : "";
  return `${method}. Over the last ${a.evaluated_hours} hours it scored MASE ${a.mase.toFixed(2)} (below 1 beats "same hour yesterday")`
    + `${vs ? `; on the same hours, ${vs}` : ""}. ${pct(a.coverage80)} of actual hours fell inside the 80% range and ${pct(a.coverage95)} inside the 95% range.${totals}`;
}

/** Draw the last day of actuals and the next 24 hours' forecast with 80% and 95% bands. */
export function forecastChart(container, body, actuals, width) {
  const past = actuals.filter((p) => p.complete).slice(-24);
  const xs = [...past.map((p) => Date.parse(p.start) / 1000), ...body.points.map((p) => Date.parse(p.start) / 1000)];
  const pad = (vals, before) => (before ? [...vals, ...body.points.map(() => null)] : [...past.map(() => null), ...vals]);
  const data = [
    xs,
    pad(past.map((p) => p.value), true),
    pad(body.points.map((p) => p.mean)),
    pad(body.points.map((p) => p.upper95)),
    pad(body.points.map((p) => p.lower95)),
    pad(body.points.map((p) => p.upper80)),
    pad(body.points.map((p) => p.lower80)),
  ];
  const line = (label, stroke, dash) => ({ label, stroke, width: 1, dash, points: { show: false } });
  const opts = {
    width, height: 260,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Europe/London"),
    series: [{ label: "Time" }, { label: "Actual", stroke: "#212b32", width: 2 }, { label: "Forecast", stroke: "#005eb8", width: 2, dash: [6, 4] },
      line("Upper 95%", "#aeb7bd"), line("Lower 95%", "#aeb7bd"), line("Upper 80%", "#768692"), line("Lower 80%", "#768692")],
    bands: [{ series: [3, 4], fill: "rgba(0,94,184,0.10)" }, { series: [5, 6], fill: "rgba(0,94,184,0.20)" }],
    legend: { live: false },
  };
  return new uPlot(opts, data, container);
}
