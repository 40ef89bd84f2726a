#!/usr/bin/env python3
"""Count what the national page's alerts ask of a person, on a running hub (issue 15).

    python3 scripts/measure-alerts.py http://127.0.0.1:8080 --samples 12 --every 30

Prints one JSON line per sample: the groups the national page shows, how many need a person,
and how many single alerts (one scope, one metric or feed) those groups hold, which is what the
page listed before alerts were grouped. Stdlib only, bounded by --samples.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request


def sample(url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{url}/v1/alerts", timeout=30) as response:
        body = json.load(response)
    single = sum(len(g["own"]) + sum(len(m.get("ids", [1])) for m in g["members"]) for g in body["alerts"])
    return {
        "as_of": body["as_of"],
        "shown": body["summary"]["total"],
        "need_a_person": body["summary"]["needs_attention"],
        "red": body["summary"]["red"],
        "amber": body["summary"]["amber"],
        "info": body["summary"]["info"],
        "single_alerts_grouped": single,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--every", type=float, default=30.0)
    args = parser.parse_args()
    for i in range(max(1, min(args.samples, 1000))):
        if i:
            time.sleep(args.every)
        print(json.dumps(sample(args.url.rstrip("/"))), flush=True)


if __name__ == "__main__":
    main()
