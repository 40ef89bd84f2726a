// Wall-screen mode: large type, and a rotation through England and each region.
import { loadReference } from "./api.js";
import { el } from "./format.js";

export class Wall {
  constructor(navigate, params) {
    this.navigate = navigate;
    this.seconds = Math.max(5, Number(params.get("cycle")) || 20);
    this.paused = params.get("cycle") === "0";
    this.left = this.seconds;
    this.stops = ["/"];
    this.names = { "/": "England" };
    this.control = el("div", "hub-wall__control");
    this.button = el("button", "nhsuk-button nhsuk-button--reverse hub-wall__button");
    this.button.type = "button";
    this.button.addEventListener("click", () => this.toggle());
    this.next = el("span", "hub-wall__next");
    this.next.setAttribute("aria-live", "off");
    this.control.append(this.button, this.next);
    document.querySelector(".hub-header").append(this.control);
    loadReference().then((ref) => {
      this.stops = ["/", ...ref.regionList.map((r) => `/region/${r.code}`)];
      for (const r of ref.regionList) this.names[`/region/${r.code}`] = r.name;
      this.paint();
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "p" && !e.ctrlKey && !e.metaKey && !e.altKey) this.toggle();
    });
    this.timer = setInterval(() => this.tick(), 1000);
    this.paint();
  }

  onPage() {
    this.left = this.seconds;
    this.paint();
  }

  index() {
    const i = this.stops.indexOf(location.pathname);
    return i < 0 ? -1 : i;
  }

  tick() {
    if (this.paused) return;
    this.left -= 1;
    if (this.left <= 0) {
      this.left = this.seconds;
      const next = this.stops[(this.index() + 1) % this.stops.length];
      this.navigate(next, { replace: true });
    }
    this.paint();
  }

  toggle() {
    this.paused = !this.paused;
    this.left = this.seconds;
    this.paint();
  }

  paint() {
    this.button.textContent = this.paused ? "Resume rotation (P)" : "Pause rotation (P)";
    this.button.setAttribute("aria-pressed", String(this.paused));
    const next = this.stops[(this.index() + 1) % this.stops.length];
    const name = this.names[next] || next;
    this.next.textContent = this.paused ? "Rotation paused" : `Next: ${name} in ${this.left} s`;
  }
}
