// The live connection: one EventSource per page, carrying the page's scope and its members.
// Browsers reconnect an EventSource by themselves after a network error (the hub asks for 1 s);
// if the hub answered with an error status, or went silent past the heartbeat, we reconnect
// ourselves with a growing pause. Every connection starts with the current figures, so a
// reconnect never misses a change.

const SILENCE_MS = 40_000;

export class LiveStream {
  constructor(url, { onMetrics, onStatus, events = {} }) {
    this.url = url;
    this.onMetrics = onMetrics;
    this.events = events; // other named events: {name: handler(data)}
    this.onStatus = onStatus;
    this.source = null;
    this.pause = 1000;
    this.lastHeard = 0;
    this.timer = null;
    this.watchdog = null;
    this.stopped = false;
  }

  start() {
    this.connect();
    this.watchdog = setInterval(() => {
      if (this.source && Date.now() - this.lastHeard > SILENCE_MS) this.reconnect();
    }, 5000);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    if (this.source) this.source.close();
    this.source = null;
  }

  heard() {
    this.lastHeard = Date.now();
    this.pause = 1000;
  }

  connect() {
    if (this.stopped) return;
    this.lastHeard = Date.now();
    const source = new EventSource(this.url);
    this.source = source;
    source.addEventListener("open", () => { this.heard(); this.onStatus("live"); });
    source.addEventListener("metrics", (event) => {
      this.heard();
      this.onStatus("live");
      if (this.onMetrics) this.onMetrics(JSON.parse(event.data), event);
    });
    source.addEventListener("heartbeat", () => this.heard());
    for (const [name, handler] of Object.entries(this.events)) {
      source.addEventListener(name, (event) => { this.heard(); handler(JSON.parse(event.data)); });
    }
    source.addEventListener("unavailable", () => { this.heard(); this.onStatus("unavailable"); });
    source.addEventListener("error", () => {
      if (this.stopped) return;
      this.onStatus("reconnecting");
      if (source.readyState === EventSource.CLOSED) this.reconnectLater();
    });
  }

  reconnect() {
    if (this.source) this.source.close();
    this.source = null;
    this.onStatus("reconnecting");
    this.connect();
  }

  reconnectLater() {
    if (this.source) this.source.close();
    this.source = null;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.pause);
    this.pause = Math.min(this.pause * 2, 15_000);
  }
}
