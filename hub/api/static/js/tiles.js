// KPI tiles: value, RAG in words and colour, a 24-hour trend and the SPC variation icon.
import { judgedWindow, metricInfo, series } from "./api.js";
import { el, formatValue, ragBadge, timeText, windowWords } from "./format.js";
import { forecastOf, FORECAST_METRICS, nextHoursText } from "./intel.js";
import { labelledIcon, variationIcon, variationWords } from "./spc.js";

// [metric, label, window when the metric has no RAG line of its own]
const HANDOVER = [
  ["handover.waiting_now", "Ambulances waiting to hand over"],
  ["handover.longest_wait_minutes", "Longest current handover wait"],
  ["handover.mean_minutes", "Mean arrival-to-handover time"],
  ["handover.over_60", "Handovers over 60 minutes"],
  ["handover.hours_lost", "Hours lost to handover delays", "24h"],
];
// Patients waiting now first: response times count only those already reached.
const WAITING = [
  ["ambulance.c1.over_target_now", "Category 1 patients waiting past the standard"],
  ["ambulance.c2.over_target_now", "Category 2 patients waiting past the standard"],
  ["ambulance.c3.over_target_now", "Category 3 patients waiting past the standard"],
  ["ambulance.c4.over_target_now", "Category 4 patients waiting past the standard"],
  ["ambulance.c2.waiting_now", "Category 2 patients waiting for an ambulance"],
  ["ambulance.c2.longest_wait_seconds", "Longest Category 2 wait now"],
];
const AMBULANCE = [
  ["ambulance.incidents", "Ambulance incidents", "24h"],
  ["ambulance.c1.mean_seconds", "Category 1 mean response"],
  ["ambulance.c2.mean_seconds", "Category 2 mean response"],
  ["ambulance.c2.p90_seconds", "Category 2 90th centile"],
  ["ambulance.c3.p90_seconds", "Category 3 90th centile"],
  ["ambulance.c4.p90_seconds", "Category 4 90th centile"],
];
const ED = [
  ["ed.four_hour_pct", "A&E patients seen within 4 hours"],
  ["ed.arrivals", "A&E attendances", "24h"],
  ["ed.in_department_now", "Patients in A&E now"],
  ["ed.longest_wait_minutes", "Longest current time in A&E"],
  ["ed.dta_over_12h_pct", "12-hour waits from decision to admit"],
  ["ed.over_12h_from_arrival_pct", "Type 1 A&E stays over 12 hours"],
];
const NHS111 = [
  ["nhs111.calls_received", "NHS 111 calls received", "24h"],
  ["nhs111.answered_within_60s_pct", "111 calls answered within 60 s"],
  ["nhs111.abandoned_pct", "111 calls abandoned"],
];
const BEDS = [
  ["beds.ga_occupancy_pct", "General and acute bed occupancy"],
  ["opel.level", "OPEL escalation level"],
];
const OVERVIEW = [
  HANDOVER[0], HANDOVER[2], HANDOVER[3], WAITING[0], WAITING[1], AMBULANCE[1], AMBULANCE[2], ED[0], ED[1], ED[3], ED[5],
  NHS111[1], BEDS[0], BEDS[1],
];

// The wall screen: fewer, larger figures, readable across a room.
export const WALL_TILES = [
  HANDOVER[0], HANDOVER[3], WAITING[1], AMBULANCE[2], ED[0], ED[4], NHS111[1], BEDS[0],
];

/** Return the tiles a scope's page shows, in order. */
export function tilesFor(scope, ref) {
  if (scope.type === "national" || scope.type === "region") return OVERVIEW;
  if (scope.type === "site") return [...HANDOVER, ...ED];
  const roles = (ref.orgs[scope.code] || {}).roles || [];
  const out = [];
  if (roles.includes("acute")) out.push(...HANDOVER, ...ED, ...BEDS);
  if (roles.includes("ambulance")) out.push(...WAITING, ...AMBULANCE, ...HANDOVER.filter((t) => !out.includes(t)));
  if (roles.includes("nhs111")) out.push(...NHS111);
  return out;
}

/** Return the figure a tile shows for a metric entry, and the window (or date) it is for. */
export function tileValue(id, entry, fallbackWindow) {
  if (!entry) return { value: null, period: "", window: "" };
  if (entry.windows) {
    const w = judgedWindow(id, fallbackWindow || "24h");
    return { value: entry.windows[w], period: windowWords(w), window: w };
  }
  if (entry.date !== undefined) {
    const cov = entry.coverage;
    const covText = cov && cov.expected > 1 ? `, ${cov.submitted} of ${cov.expected} reported` : "";
    return { value: entry.value, period: entry.date ? `SitRep ${entry.date}${covText}` : "no SitRep yet" };
  }
  return { value: entry.value, period: "now" };
}

/** Return the line a tile's RAG was judged against: the level's own basis, or the standard. */
function targetText(id, entry) {
  const j = entry && entry.judged;
  if (j && j.of) {
    const word = j.better === "lower" ? "red above" : "red below";
    const what = sentenceCase(metricInfo(j.of).description);
    const shown = j.value === null ? "–" : formatValue(j.value, "percent");
    return `${shown} of ${what}; ${j.red === null ? "" : `${word} ${formatValue(j.red, "percent")}`}`;
  }
  if (j && j.per) return `${formatValue(j.value, "count")} per ${j.per}; red above ${formatValue(j.red, "count")}`;
  const t = metricInfo(id).threshold;
  if (!t) return "";
  const unit = metricInfo(id).unit;
  const word = t.better === "lower" ? "at most" : "at least";
  return `Standard: ${word} ${formatValue(t.green, unit)}`;
}

/** Lower-case a description's first word for use mid-sentence, unless it is a code (C2, A&E). */
function sentenceCase(text) {
  return /^[A-Z][a-z]/.test(text) ? text[0].toLowerCase() + text.slice(1) : text;
}

export class Tiles {
  constructor(scopeKey, defs) {
    this.scopeKey = scopeKey;
    this.defs = defs;
    this.tiles = new Map();
    this.element = el("ul", "hub-tiles");
    this.element.setAttribute("aria-label", "Key figures");
    this.trendsAt = 0;
    this.notes = [];
  }

  /** Create or update the tiles from a metrics body. */
  update(body) {
    for (const [id, label, fallback] of this.defs) {
      const entry = body.metrics[id];
      if (!entry) continue;
      let tile = this.tiles.get(id);
      if (!tile) {
        tile = this.create(id, label);
        this.tiles.set(id, tile);
        this.element.append(tile.root);
      }
      this.fill(tile, id, entry, fallback);
    }
    this.showNotes(this.notes);
  }

  create(id, label) {
    const over = metricInfo(id).over_minutes;
    if (over !== undefined) label = label.replace("the standard", over >= 60 && over % 60 === 0 ? `${over / 60} h` : `${over} min`);
    const root = el("li", "hub-tile");
    root.dataset.metric = id;
    root.dataset.scope = this.scopeKey;
    const heading = el("h3", "hub-tile__label");
    const info = metricInfo(id);
    if (info.kind === "gauge") {
      heading.textContent = label;
    } else {
      const link = el("a", "hub-tile__link", label);
      link.href = `/trend/${id}/${this.scopeKey}`;
      link.dataset.nav = "";
      heading.append(link);
    }
    const period = el("p", "hub-tile__period");
    const value = el("p", "hub-tile__value");
    const rag = el("p", "hub-tile__rag");
    const trend = el("div", "hub-tile__trend");
    const spc = el("p", "hub-tile__spc");
    const forecast = el("p", "hub-tile__forecast");
    const quality = el("p", "hub-tile__quality");
    quality.hidden = true;
    const notes = el("p", "hub-tile__notes");
    notes.hidden = true;
    root.append(heading, period, value, rag, quality, trend, spc, forecast, notes);
    return { root, period, value, rag, quality, trend, spc, forecast, notes };
  }

  fill(tile, id, entry, fallback) {
    const { value, period, window } = tileValue(id, entry, fallback);
    const unit = entry.unit;
    const text = formatValue(value, unit);
    tile.root.className = `hub-tile hub-tile--${entry.rag}`;
    tile.period.textContent = period;
    tile.value.classList.toggle("hub-tile__value--long", text.length > 12);
    tile.value.dataset.length = text.length > 7 ? "long" : "short";
    if (tile.value.textContent !== text) {
      tile.value.textContent = text;
      tile.value.dataset.changedAt = String(Date.now());
    }
    tile.value.dataset.value = JSON.stringify(value);
    tile.value.dataset.window = window || "";
    const target = el("span", entry.judged ? "hub-tile__judged" : "hub-tile__target", targetText(id, entry));
    const delayed = Boolean(entry.quality && entry.quality.status === "delayed");
    tile.rag.replaceChildren(ragBadge(entry.rag, false, delayed), target);
    tile.root.dataset.delayed = String(delayed);
    tile.quality.hidden = !entry.quality;
    tile.quality.textContent = entry.quality ? `⚠ ${entry.quality.text}` : "";
    tile.quality.dataset.status = entry.quality ? entry.quality.status : "live";
  }

  /** Show on each tile the newest note about its metric (notes: newest first). */
  showNotes(notes) {
    this.notes = notes;
    for (const [id, tile] of this.tiles) {
      const mine = notes.filter((n) => n.metric === id);
      tile.notes.hidden = !mine.length;
      tile.notes.dataset.count = String(mine.length);
      tile.notes.textContent = mine.length
        ? `Note${mine.length > 1 ? ` (1 of ${mine.length})` : ""}: ${mine[0].text} — ${mine[0].by}, ${timeText(mine[0].at).slice(0, 5)}`
        : "";
    }
  }

  /** Fetch each tile's series (24 hours hourly, or 14 days of SitReps) for its trend and icon. */
  async refreshTrends() {
    this.trendsAt = Date.now();
    await Promise.all([...this.tiles.entries()].map(async ([id, tile]) => {
      const info = metricInfo(id);
      if (info.kind === "gauge") {
        tile.trend.replaceChildren(el("p", "hub-tile__note", "A count now: no history is kept"));
        return;
      }
      if (FORECAST_METRICS.includes(id)) {
        forecastOf(id, this.scopeKey).then((f) => { tile.forecast.textContent = f ? nextHoursText(f) : ""; });
      }
      const params = info.kind === "sitrep" ? { resolution: "day", from: isoDaysAgo(14) } : {};
      try {
        const body = await series(id, this.scopeKey, params);
        tile.trend.replaceChildren(sparkline(body));
        const name = body.spc ? body.spc.variation : null;
        const icon = labelledIcon(variationIcon(name, 28), variationWords(name));
        icon.dataset.variation = name || "";
        tile.spc.replaceChildren(icon);
      } catch (err) {
        tile.trend.replaceChildren(el("p", "hub-tile__note", "Trend unavailable"));
      }
    }));
  }
}

function isoDaysAgo(days) {
  return new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
}

/** Draw a small line of the series' values, with the latest point marked. */
export function sparkline(body) {
  const values = body.points.map((p) => (typeof p.value === "number" ? p.value : null));
  const known = values.filter((v) => v !== null);
  const wrap = el("div", "hub-spark");
  const span = body.resolution === "hour" ? "last 24 hours, hourly" : "daily";
  if (known.length < 2) {
    wrap.append(el("p", "hub-tile__note", `Trend (${span}): not enough data yet`));
    return wrap;
  }
  const W = 200, H = 44, pad = 4;
  const lo = Math.min(...known), hi = Math.max(...known);
  const y = (v) => (hi === lo ? H / 2 : H - pad - ((v - lo) / (hi - lo)) * (H - 2 * pad));
  const x = (i) => pad + (i / Math.max(1, values.length - 1)) * (W - 2 * pad);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "hub-spark__svg");
  svg.setAttribute("aria-hidden", "true");
  let d = "";
  values.forEach((v, i) => {
    if (v === null) return;
    d += `${d && values[i - 1] !== null ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
  });
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  path.setAttribute("class", "hub-spark__line");
  svg.append(path);
  values.forEach((v, i) => {
    // A value with no neighbour draws no line: mark it with a dot so it is not lost.
    if (v === null || (i > 0 && values[i - 1] !== null) || (i < values.length - 1 && values[i + 1] !== null)) return;
    const lone = document.createElementNS(ns, "circle");
    lone.setAttribute("cx", x(i).toFixed(1));
    lone.setAttribute("cy", y(v).toFixed(1));
    lone.setAttribute("r", "1.8");
    lone.setAttribute("class", "hub-spark__dot");
    svg.append(lone);
  });
  const last = values.length - 1 - [...values].reverse().findIndex((v) => v !== null);
  const dot = document.createElementNS(ns, "circle");
  dot.setAttribute("cx", x(last).toFixed(1));
  dot.setAttribute("cy", y(values[last]).toFixed(1));
  dot.setAttribute("r", "3");
  dot.setAttribute("class", "hub-spark__dot");
  svg.append(dot);
  const unit = body.unit;
  const words = `Trend, ${span}: from ${formatValue(known[0], unit)} to ${formatValue(known[known.length - 1], unit)}; lowest ${formatValue(lo, unit)}, highest ${formatValue(hi, unit)}`;
  wrap.append(svg, el("span", "nhsuk-u-visually-hidden", words));
  wrap.title = words;
  return wrap;
}
