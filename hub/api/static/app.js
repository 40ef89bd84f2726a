// The first control-room page: national handover tiles and a table of regions, live over SSE.
"use strict";

const TILES = [
  ["handover.arrivals", "Ambulance arrivals", "1h"],
  ["handover.waiting_now", "Waiting to hand over now", null],
  ["handover.longest_wait_minutes", "Longest current wait (min)", null],
  ["handover.mean_minutes", "Mean handover (min)", "4h"],
  ["handover.over_30", "Handovers over 30 min", "24h"],
  ["handover.over_60", "Handovers over 60 min", "24h"],
  ["handover.hours_lost", "Hours lost", "24h"],
];

function valueOf(entry, windowName) {
  if (!entry) return null;
  return windowName ? entry.windows[windowName] : entry.value;
}

function fmt(v) {
  if (v === null || v === undefined) return "–";
  return Number.isInteger(v) ? v.toLocaleString("en-GB") : v.toFixed(1);
}

function renderTiles(body) {
  const list = document.getElementById("tiles");
  list.replaceChildren(...TILES.map(([id, label, w]) => {
    const entry = body.metrics[id];
    const li = document.createElement("li");
    const rag = entry ? entry.rag : "none";
    li.className = `tile ${rag}`;
    li.dataset.metric = id;
    li.innerHTML = `<p class="label"></p><p class="value"></p><span class="rag ${rag}"></span>`;
    li.querySelector(".label").textContent = w ? `${label} (${w})` : label;
    li.querySelector(".value").textContent = fmt(valueOf(entry, w));
    li.querySelector(".rag").textContent = rag === "none" ? "No standard" : rag.toUpperCase();
    return li;
  }));
  document.querySelector(".as-of").textContent = `Updated ${new Date(body.as_of).toLocaleTimeString("en-GB")}`;
}

async function renderRegions(regions) {
  const rows = await Promise.all(regions.map(async (r) => {
    const res = await fetch(`/v1/metrics/region/${r.code}`);
    return [r, await res.json()];
  }));
  const tbody = document.getElementById("members");
  tbody.replaceChildren(...rows.map(([r, body]) => {
    const m = body.metrics;
    const tr = document.createElement("tr");
    tr.dataset.region = r.code;
    const cells = [r.name, fmt(valueOf(m["handover.arrivals"], "1h")), fmt(valueOf(m["handover.waiting_now"])),
      fmt(valueOf(m["handover.over_60"], "24h")), fmt(valueOf(m["handover.mean_minutes"], "4h")),
      fmt(valueOf(m["handover.hours_lost"], "24h"))];
    tr.replaceChildren(...cells.map((text, i) => {
      const td = document.createElement(i === 0 ? "th" : "td");
      if (i === 0) td.scope = "row";
      td.textContent = text;
      return td;
    }));
    return tr;
  }));
}

async function main() {
  const orgs = await (await fetch("/v1/organisations")).json();
  let pending = null;
  const source = new EventSource("/v1/stream?scope=national");
  source.addEventListener("metrics", (event) => {
    renderTiles(JSON.parse(event.data));
    if (!pending) pending = setTimeout(() => { pending = null; renderRegions(orgs.regions); }, 250);
  });
  source.addEventListener("error", () => {
    document.querySelector(".as-of").textContent = "Reconnecting…";
  });
}

main();
