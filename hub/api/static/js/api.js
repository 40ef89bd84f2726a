// Reads from the hub's own API. Reference data and the catalogue are read once per page load.

let reference = null;
let catalogue = null;

const TOKEN_KEY = "hub.viewerToken";

/** Return the viewer token this browser signed in with, or null. */
export function viewerToken() {
  try { return localStorage.getItem(TOKEN_KEY); } catch { return null; }
}

export function setViewerToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch { /* storage off: the token lasts this page only */ }
}

function headers(extra = {}) {
  const token = viewerToken();
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function failure(res) {
  let detail = res.statusText;
  try { detail = (await res.json()).detail || detail; } catch { /* not JSON */ }
  const err = new Error(`${res.status}: ${detail}`);
  err.status = res.status;
  return err;
}

export async function getJson(path) {
  const res = await fetch(path, { headers: headers({ Accept: "application/json" }) });
  if (!res.ok) throw await failure(res);
  return res.json();
}

/** POST a JSON body with the viewer token; return the JSON answer or throw its problem. */
export async function postJson(path, body) {
  const res = await fetch(path, {
    method: "POST",
    headers: headers({ Accept: "application/json", "Content-Type": "application/json" }),
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await failure(res);
  return res.json();
}

/** Return the notes about a scope (and metric) in the last `days` days, newest first. */
export function annotations(scope, { metric = null, days = 7 } = {}) {
  const q = new URLSearchParams({ scope, from: new Date(Date.now() - days * 86_400_000).toISOString() });
  if (metric) q.set("metric", metric);
  return getJson(`/v1/annotations?${q}`).then((b) => b.annotations);
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
