// Reads from the hub's own API. Reference data and the catalogue are read once per page load.

let reference = null;
let catalogue = null;

export async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: "application/json" } });
  if (!res.ok) {
    let detail = res.statusText;
    try { detail = (await res.json()).detail || detail; } catch { /* not JSON */ }
    throw new Error(`${res.status}: ${detail}`);
  }
  return res.json();
}

/** Return the reference data, indexed: regions, organisations and sites by code. */
export async function loadReference() {
  if (reference) return reference;
  const [orgs, cat] = await Promise.all([getJson("/v1/organisations"), getJson("/v1/catalogue")]);
  const by = (list) => Object.fromEntries(list.map((x) => [x.code, x]));
  reference = {
    regions: by(orgs.regions),
    regionList: orgs.regions,
    orgs: by(orgs.organisations),
    orgList: orgs.organisations,
    sites: by(orgs.sites),
    siteList: orgs.sites,
  };
  catalogue = Object.fromEntries(cat.metrics.map((m) => [m.id, m]));
  return reference;
}

export function metricInfo(id) {
  return (catalogue && catalogue[id]) || { id, unit: "count", description: id, threshold: null };
}

/** Return the window a metric's RAG is judged on, so a tile shows the value that is judged. */
export function judgedWindow(id, fallback = "24h") {
  const t = metricInfo(id).threshold;
  return t ? t.window : fallback;
}

export function scopeKey(type, code) {
  return type === "national" ? "national" : `${type}/${code}`;
}

export function metricsPath(key) {
  return key === "national" ? "/v1/metrics/national" : `/v1/metrics/${key}`;
}

export function series(metric, scope, params = {}) {
  const q = new URLSearchParams({ metric, scope, spc: "true", ...params });
  return getJson(`/v1/series?${q}`);
}
