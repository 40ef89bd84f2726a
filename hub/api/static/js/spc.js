// Making Data Count icons (variation and assurance) and the XmR chart, drawn with uPlot.
import uPlot from "/static/vendor/uplot/uPlot.esm.js";
import { el, formatValue } from "./format.js";

export const COLOURS = {
  common: "#a6a6a6", improvement: "#00b0f0", concern: "#e46c0a", neutral: "#490092", target: "#de1b1b",
};

const VARIATION_WORDS = {
  common_cause: "Common cause variation",
  improvement_high: "Special cause: improvement (high)",
  improvement_low: "Special cause: improvement (low)",
  concern_high: "Special cause: concern (high)",
  concern_low: "Special cause: concern (low)",
  neutral_high: "Special cause: neither improvement nor concern (high)",
  neutral_low: "Special cause: neither improvement nor concern (low)",
};

const ASSURANCE_WORDS = {
  consistent_pass: "Consistently passes the target",
  consistent_fail: "Consistently fails the target",
  inconsistent: "Hit and miss: may pass or fail the target",
};

export function variationWords(name) {
  return VARIATION_WORDS[name] || "Not enough data for SPC";
}

export function assuranceWords(name) {
  return ASSURANCE_WORDS[name] || "No target";
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

/** Draw a variation icon: a ring in the MDC colour, the run of dots, and H or L. */
export function variationIcon(name, size = 40) {
  const kind = (name || "common_cause").split("_")[0];
  const colour = COLOURS[kind === "common" ? "common" : kind] || COLOURS.common;
  const high = (name || "").endsWith("_high");
  const root = svg("svg", { viewBox: "0 0 40 40", width: size, height: size, "aria-hidden": "true", class: "hub-icon" });
  root.append(svg("circle", { cx: 20, cy: 20, r: 17, fill: "#fff", stroke: colour, "stroke-width": 3 }));
  const ys = name && name !== "common_cause"
    ? (high ? [26, 25, 24, 16, 14, 12] : [14, 15, 16, 24, 26, 28])
    : [22, 18, 23, 17, 21, 19];
  ys.forEach((y, i) => {
    const special = name && name !== "common_cause" && i >= 3;
    root.append(svg("circle", { cx: 9 + i * 4.4, cy: y, r: 1.9, fill: special ? colour : "#425563" }));
  });
  if (name && name !== "common_cause") {
    const letter = svg("text", { x: 20, y: high ? 12.5 : 34, "text-anchor": "middle", "font-size": 9, "font-weight": "bold", fill: "#212b32" });
    letter.textContent = high ? "H" : "L";
    root.append(letter);
  }
  return root;
}

/** Draw an assurance icon: P (pass), F (fail) or ? (hit and miss). */
export function assuranceIcon(name, size = 40) {
  const colour = { consistent_pass: COLOURS.improvement, consistent_fail: COLOURS.concern }[name] || COLOURS.common;
  const root = svg("svg", { viewBox: "0 0 40 40", width: size, height: size, "aria-hidden": "true", class: "hub-icon" });
  root.append(svg("circle", { cx: 20, cy: 20, r: 17, fill: "#fff", stroke: colour, "stroke-width": 3 }));
  root.append(svg("line", { x1: 8, x2: 32, y1: 27, y2: 27, stroke: COLOURS.target, "stroke-width": 2, "stroke-dasharray": "3 2" }));
  const letter = svg("text", { x: 20, y: 23, "text-anchor": "middle", "font-size": 16, "font-weight": "bold", fill: "#212b32" });
  letter.textContent = { consistent_pass: "P", consistent_fail: "F" }[name] || "?";
  root.append(letter);
  return root;
}

/** Return an icon with its words beside it, so the icon is never the only signal. */
export function labelledIcon(icon, words, className = "") {
  const wrap = el("span", `hub-spc ${className}`);
  wrap.append(icon, el("span", "hub-spc__words", words));
  return wrap;
}

function constant(points, value) {
  return points.map(() => (value === null || value === undefined ? null : value));
}

function only(points, test) {
  return points.map((p) => (typeof p.value === "number" && test(p) ? p.value : null));
}

function pointSeries(label, colour, size) {
  return { label, stroke: colour, fill: colour, width: 0, paths: () => null, points: { show: true, size, stroke: colour, fill: colour } };
}

function axisValue(v, unit) {
  if (unit === "seconds") return `${+(v / 60).toFixed(1)} min`;
  if (unit === "minutes") return `${+v.toFixed(1)} min`;
  if (unit === "hours") return `${+v.toFixed(1)} h`;
  if (unit === "percent") return `${+v.toFixed(1)}%`;
  return v.toLocaleString("en-GB");
}

function timeTick(seconds, resolution) {
  const d = new Date(seconds * 1000);
  const day = d.toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "Europe/London" });
  if (resolution === "day") return day;
  const time = d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/London" });
  return time === "00:00" ? `${time}\n${day}` : time;
}

/** Draw notes on a chart: a dashed vertical line at each note's time, numbered as in its list. */
function drawMarks(u, marks) {
  const ctx = u.ctx;
  const dpr = devicePixelRatio;
  ctx.save();
  ctx.strokeStyle = "#005eb8";
  ctx.fillStyle = "#005eb8";
  ctx.lineWidth = 2 * dpr;
  ctx.setLineDash([4 * dpr, 3 * dpr]);
  ctx.font = `bold ${Math.round(12 * dpr)}px Arial`;
  for (const m of marks) {
    if (m.x < u.scales.x.min || m.x > u.scales.x.max) continue;
    const x = u.valToPos(m.x, "x", true);
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    const right = x + 16 * dpr > u.bbox.left + u.bbox.width; // keep the number on the chart
    ctx.fillText(m.label, right ? x - 12 * dpr : x + 3 * dpr, u.bbox.top + 14 * dpr);
  }
  ctx.restore();
}

/** Return a chart's centre and limit lines: each hour's own band, or one XmR chart's lines. */
function chartLines(pts, spc) {
  if (spc.chart === "seasonal") {
    const of = (k) => pts.map((p) => (typeof p[k] === "number" ? p[k] : null));
    return { centre: of("expected"), upper: of("upper"), lower: of("lower"), seasonal: true };
  }
  return { centre: constant(pts, spc.mean), upper: constant(pts, spc.upper_limit), lower: constant(pts, spc.lower_limit), seasonal: false };
}

/** Draw an XmR chart of a series body (with `spc`) into `container`; return the uPlot.
 * An hourly chart shades each hour's expected band (spc.chart "seasonal"); a daily one has
 * straight mean and limit lines. `marks` are notes to draw: [{x: seconds, label}]. */
export function xmrChart(container, body, width, marks = []) {
  const pts = body.points;
  const spc = body.spc || {};
  const unit = body.unit;
  const lines = chartLines(pts, spc);
  const data = [
    pts.map((p) => Date.parse(p.start) / 1000),
    only(pts, (p) => p.complete),
    lines.centre,
    lines.upper,
    lines.lower,
    constant(pts, spc.target),
    only(pts, (p) => p.complete && !p.special_cause),
    only(pts, (p) => p.kind === "improvement"),
    only(pts, (p) => p.kind === "concern"),
    only(pts, (p) => p.kind === "neutral"),
    only(pts, (p) => !p.complete),
  ];
  const dashed = [6, 4];
  const words = lines.seasonal
    ? ["Expected for the hour", "Upper limit for the hour", "Lower limit for the hour"]
    : ["Mean", "Upper process limit", "Lower process limit"];
  const opts = {
    width, height: Math.max(260, Math.min(420, Math.round(width * 0.42))),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Europe/London"),
    scales: { x: { time: true } },
    axes: [
      { stroke: "#212b32", grid: { stroke: "#e8edee" }, values: (u, ticks) => ticks.map((t) => timeTick(t, body.resolution)) },
      { stroke: "#212b32", grid: { stroke: "#e8edee" }, size: 80, values: (u, ticks) => ticks.map((v) => axisValue(v, unit)) },
    ],
    series: [
      { label: "Time" },
      { label: "Value", stroke: "#425563", width: 2, points: { show: false }, value: (u, v) => formatValue(v, unit) },
      { label: words[0], stroke: "#212b32", width: 1.5, points: { show: false } },
      { label: words[1], stroke: "#768692", width: 1.5, dash: dashed, points: { show: false } },
      { label: words[2], stroke: "#768692", width: 1.5, dash: dashed, points: { show: false } },
      { label: "Target", stroke: COLOURS.target, width: 2, dash: [10, 5], points: { show: false } },
      pointSeries("Common cause", COLOURS.common, 7),
      pointSeries("Improvement", COLOURS.improvement, 10),
      pointSeries("Concern", COLOURS.concern, 10),
      pointSeries("Neither", COLOURS.neutral, 10),
      pointSeries("Period not over yet", "#ffffff", 8),
    ],
    legend: { live: false },
    hooks: { draw: [(u) => drawMarks(u, marks)] },
  };
  if (lines.seasonal) opts.bands = [{ series: [3, 4], fill: "rgba(118,134,146,0.18)" }];
  opts.series[10].points.stroke = "#425563";
  // How many hours have a band drawn: what a reader (or a test) can check without the canvas.
  container.dataset.band = lines.seasonal ? String(lines.upper.filter((v) => v !== null).length) : "";
  return new uPlot(opts, data, container);
}
