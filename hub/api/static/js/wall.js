// Wall-screen mode: one 1920×1080 screen, no scrolling. A rotation through England and each
// region, a clock, how old the figures are, and a one-line summary of the feeds.
import { getJson, loadReference } from "./api.js";
import { agoText, el } from "./format.js";

const FEED_WORDS = {
  "ambulance-handover": "handovers", "ambulance-incident": "incidents", "ambulance-sitrep": "ambulance SitRep",
  "ed-attendance": "A&E", "acute-sitrep": "acute SitRep", "nhs111-interval": "111",
};

/** Return "Feeds live: handovers 11 of 11 · A&E 47 of 48 · …" for a scope. */
export async function feedSummary(scope) {
  const board = await getJson("/v1/freshness");
  const parts = [];
  for (const [feed, data] of Object.entries(board.feeds)) {
    const rows = scope.type === "region" ? data.organisations.filter((r) => r.region === scope.code) : data.organisations;
    if (!rows.length) continue;
    const live = rows.filter((r) => r.status === "live").length;
    const delayed = data.application && data.application.delayed ? " (figures delayed ⚠)" : "";
    parts.push(`${FEED_WORDS[feed] || feed} ${live} of ${rows.length}${live < rows.length ? " ⚠" : ""}${delayed}`);
  }
  return `Feeds live: ${parts.join(" · ")}`;
}

export class Wall {
  constructor(navigate, params) {
    this.navigate = navigate;
    this.seconds = Math.max(5, Number(params.get("cycle")) || 20);
    this.paused = params.get("cycle") === "0";
    this.left = this.seconds;
    this.stops = ["/"];
    this.names = { "/": "England" };
    this.updated = null;
    this.control = el("div", "hub-wall__control");
    this.clock = el("p", "hub-wall__clock");
    this.clock.setAttribute("aria-live", "off");
    this.age = el("p", "hub-wall__age");
    this.button = el("button", "nhsuk-button nhsuk-button--reverse hub-wall__button");
    this.button.type = "button";
    this.button.addEventListener("click", () => this.toggle());
    this.next = el("span", "hub-wall__next");
    this.next.setAttribute("aria-live", "off");
    this.control.append(this.clock, this.age, this.button, this.next);
    document.querySelector(".hub-header").append(this.control);
    loadReference().then((ref) => {
      this.stops = ["/", ...ref.regionList.map((r) => `/region/${r.code}`)];
      for (const r of ref.regionList) this.names[`/region/${r.code}`] = r.name;
      this.paint();
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "p" && !e.ctrlKey && !e.metaKey && !e.altKey && !e.target.closest("input, textarea")) this.toggle();
    });
    this.timer = setInterval(() => this.tick(), 1000);
    this.paint();
  }

  onPage() {
    this.left = this.seconds;
    this.paint();
  }

  setUpdated(iso) {
    this.updated = iso;
    this.paint();
  }

  index() {
    const i = this.stops.indexOf(location.pathname);
    return i < 0 ? -1 : i;
  }

  tick() {
    if (!this.paused) {
      this.left -= 1;
      if (this.left <= 0) {
        this.left = this.seconds;
        const next = this.stops[(this.index() + 1) % this.stops.length];
        this.navigate(next, { replace: true });
      }
    }
    this.paint();
  }

  toggle() {
    this.paused = !this.paused;
    this.left = this.seconds;
    this.paint();
  }

  paint() {
    const now = new Date();
    this.clock.textContent = now.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: "Europe/London" });
    this.age.textContent = this.updated ? `Figures as of ${agoText(this.updated, now.getTime())}` : "Waiting for figures";
    this.age.dataset.updated = this.updated || "";
    this.button.textContent = this.paused ? "Resume (P)" : "Pause (P)";
    this.button.setAttribute("aria-pressed", String(this.paused));
    const next = this.stops[(this.index() + 1) % this.stops.length];
    const name = this.names[next] || next;
    this.next.textContent = this.paused ? "Rotation paused" : `Next: ${name} in ${this.left} s`;
  }
}
