// Take the data away: CSV of every table and PNG of every chart. Server tables link to the
// API's own CSV (?format=csv); tables built in the page are written here from the raw values
// the API sent (never the formatted text), so a spreadsheet holds the API's figures.
import { el } from "./format.js";

const FORMULA = /^[=+\-@\t\r]/;

function cell(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  let text = typeof value === "object" ? JSON.stringify(value) : String(value);
  if (FORMULA.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Return CSV text (with a byte-order mark, for Excel) of a header and rows. */
export function csvText(header, rows) {
  return "\ufeff" + [header, ...rows].map((row) => row.map(cell).join(",")).join("\r\n") + "\r\n";
}

function save(blob, filename) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** Return a button that downloads `rows()` as CSV (`header` null: the first row is the header). */
export function csvButton(label, filename, header, rows) {
  const b = el("button", "hub-download", label);
  b.type = "button";
  b.addEventListener("click", () => {
    const all = header ? [header, ...rows()] : rows();
    save(new Blob([csvText(all[0], all.slice(1))], { type: "text/csv" }), filename);
  });
  return b;
}

/** Return a link to an API table's CSV download. */
export function csvLink(href, label = "Download CSV") {
  const a = el("a", "hub-download", label);
  a.href = href + (href.includes("?") ? "&" : "?") + "format=csv";
  a.setAttribute("download", "");
  return a;
}

/** Return a button that saves a uPlot chart (its canvas) as a PNG with a title above it. */
export function pngButton(chart, filename, title, label = "Download PNG") {
  const b = el("button", "hub-download", label);
  b.type = "button";
  b.addEventListener("click", () => {
    const plot = chart().ctx.canvas;
    const out = document.createElement("canvas");
    const top = 40 * devicePixelRatio;
    out.width = plot.width;
    out.height = plot.height + top;
    const ctx = out.getContext("2d");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.fillStyle = "#212b32";
    ctx.font = `bold ${Math.round(18 * devicePixelRatio)}px Arial`;
    ctx.fillText(title, 10 * devicePixelRatio, 26 * devicePixelRatio);
    ctx.drawImage(plot, 0, top);
    out.toBlob((blob) => save(blob, filename), "image/png");
  });
  return b;
}

/** Return a row of download controls. */
export function downloads(...controls) {
  const p = el("p", "hub-downloads");
  p.append(...controls);
  return p;
}
