// Numbers, units and RAG words as the control room reads them. Kept in step with
// tests/browser/formatting.py, which checks the screen against the API.

export const DASH = "–";

const WINDOW_WORDS = { "15m": "last 15 minutes", "1h": "last hour", "4h": "last 4 hours", "24h": "last 24 hours" };

export function windowWords(name) {
  return WINDOW_WORDS[name] || name;
}

function grouped(n) {
  return Math.round(n).toLocaleString("en-GB");
}

function minutesText(v) {
  if (v < 120) return `${v.toFixed(1)} min`;
  const total = Math.round(v);
  return `${Math.floor(total / 60)} h ${total % 60} min`;
}

function secondsText(v) {
  const total = Math.round(v);
  if (total >= 3600) return `${Math.floor(total / 3600)} h ${Math.floor((total % 3600) / 60)} min`;
  return `${Math.floor(total / 60)} min ${total % 60} s`;
}

/** Return a value as text for its unit, or an en dash when there is none. */
export function formatValue(value, unit) {
  if (value === null || value === undefined) return DASH;
  if (typeof value === "object") return opelText(value);
  switch (unit) {
    case "percent": return `${value.toFixed(1)}%`;
    case "minutes": return minutesText(value);
    case "seconds": return secondsText(value);
    case "hours": return `${value.toFixed(1)} h`;
    case "level": return `OPEL ${value}`;
    default: return Number.isInteger(value) ? grouped(value) : value.toFixed(1);
  }
}

/** Summarise OPEL levels of several trusts: how many are at 3 or 4. */
export function opelText(levels) {
  const high = (levels["3"] || 0) + (levels["4"] || 0);
  const total = Object.values(levels).reduce((a, b) => a + b, 0);
  return total ? `${high} of ${total} at OPEL 3–4` : DASH;
}

export const RAG = {
  red: { word: "Red", tag: "nhsuk-tag--red", symbol: "✕" },
  amber: { word: "Amber", tag: "nhsuk-tag--orange", symbol: "!" },
  green: { word: "Green", tag: "nhsuk-tag--green", symbol: "✓" },
  none: { word: "No standard", tag: "nhsuk-tag--grey", symbol: "–" },
  unknown: { word: "Unknown: data not live", tag: "nhsuk-tag--grey", symbol: "?" },
};
// An unknown RAG because the figures lag what the hub accepted, not because a feed is late.
const DELAYED_WORD = "Unknown: figures delayed";

export function ragOf(name) {
  return RAG[name] || RAG.none;
}

/** Return a compact RAG badge: a symbol and the word, never colour alone. */
export function ragBadge(name, compact = false, delayed = false) {
  const rag = delayed && name === "unknown" ? { ...RAG.unknown, word: DELAYED_WORD } : ragOf(name);
  const el = document.createElement("strong");
  el.className = `nhsuk-tag ${rag.tag} hub-rag hub-rag--${name || "none"}${compact ? " hub-rag--compact" : ""}`;
  const sym = document.createElement("span");
  sym.className = "hub-rag__symbol";
  sym.setAttribute("aria-hidden", "true");
  sym.textContent = rag.symbol;
  const word = document.createElement("span");
  word.className = compact ? "nhsuk-u-visually-hidden" : "hub-rag__word";
  word.textContent = compact ? ` ${rag.word}` : rag.word;
  el.append(sym, word);
  if (compact) el.title = rag.word;
  return el;
}

export function timeText(iso) {
  if (!iso) return "never";
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  const time = d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: "Europe/London" });
  if (today) return time;
  return `${d.toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "Europe/London" })} ${time.slice(0, 5)}`;
}

export function agoText(iso, now = Date.now()) {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** Create an element with a class and text in one go. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}
