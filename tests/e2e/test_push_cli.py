"""`hub push` (SPEC §8), run as the real command against a running API over HTTP."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.settings import Settings
from tests.conftest import ROOT
from tests.harness import RunningApi, running_api, running_worker, wait_until

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

COLUMNS = ["handover_id", "ambulance_trust", "site", "arrived_at", "handover_at", "clear_at"]


def handover(n: int, site: str = "R1H12") -> dict[str, Any]:
    arrived = datetime.now(UTC) - timedelta(minutes=30 + n % 60)
    return {
        "handover_id": f"P{n}",
        "ambulance_trust": "RX9",
        "site": site,
        "arrived_at": arrived.isoformat(),
        "handover_at": (arrived + timedelta(minutes=9)).isoformat(),
        "clear_at": None,
    }


def write_csv(path: Path, records: list[dict[str, Any]]) -> dict[str, int]:
    """Write records as CSV; return the file line each handover_id starts on."""
    lines: dict[str, int] = {}
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        line = 2
        for r in records:
            lines[r["handover_id"]] = line
            writer.writerow(["" if r[c] is None else r[c] for c in COLUMNS])
            line += 1 + str(r["handover_id"]).count("\n")
    return lines


async def hub_push(api: RunningApi, token: str, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["COLUMNS"] = "200"  # a wide console, so the summary table is not wrapped
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        "push",
        *args,
        "--url",
        api.url,
        "--token",
        token,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 150)
    return proc.returncode or 0, out.decode(), err.decode()


def table_row(out: str, name: str) -> list[int]:
    """Return (records, accepted, unchanged, rejected) from the summary row of file `name`."""
    for line in out.splitlines():
        if name in line:
            numbers = re.findall(r"\b\d+\b", line.split(name, 1)[1])
            return [int(n) for n in numbers[:4]]
    raise AssertionError(f"no summary row for {name}:\n{out}")


async def test_push_sends_big_files_in_batches_and_maps_rejections_to_file_lines(
    settings: Settings, tmp_path: Path
) -> None:
    records = [handover(n) for n in range(2500)]
    records[10]["site"] = "NOPE1"
    records[1500]["handover_at"] = "not a time"
    # A quoted cell across two lines (rejected: an identifier has no line breaks).
    records[2200]["handover_id"] = "P2200\nwith a line break"
    records[2400]["ambulance_trust"] = "RYA"
    lines = write_csv(tmp_path / "handovers.csv", records)
    as_json = [handover(n) for n in range(3000, 3100)]
    (tmp_path / "more.json").write_text(json.dumps(as_json, indent=2))
    ndjson = "\n".join(json.dumps(handover(n)) for n in range(4000, 4050)) + "\n"
    (tmp_path / "more.ndjson").write_text(ndjson.replace("R1H12", "XX", 1))

    async with running_api(settings) as api:
        token = await api.token("RX9")
        code, out, err = await hub_push(
            api,
            token,
            "ambulance-handover",
            str(tmp_path / "handovers.csv"),
            str(tmp_path / "more.json"),
            str(tmp_path / "more.ndjson"),
        )
        assert code == 1, out + err
        assert table_row(out, "handovers.csv") == [2500, 2496, 0, 4]
        assert table_row(out, "more.json") == [100, 100, 0, 0]
        assert table_row(out, "more.ndjson") == [50, 49, 0, 1]
        assert f"handovers.csv:{lines['P10']} (RX9|P10) site:" in out
        assert f"handovers.csv:{lines['P1500']} (RX9|P1500) handover_at:" in out
        assert f"handovers.csv:{lines['P2400']} (RYA|P2400) ambulance_trust:" in out
        assert f"handovers.csv:{lines[records[2200]['handover_id']]} (RX9|P2200" in out
        assert "more.ndjson:1 (RX9|P4000) site:" in out
        assert lines["P2400"] == 2403  # 2 + 2400 records, one of them over two lines

        # Once applied, sending the same file again is harmless: accepted, and unchanged.
        async with running_worker(settings):

            async def applied() -> bool:
                async with api.client() as c:
                    body = (await c.get("/v1/metrics/org/RX9")).json()
                return bool(body["metrics"]["handover.arrivals"]["windows"]["24h"] == 2645)

            await wait_until(applied, timeout=60)
        code, out, err = await hub_push(
            api, token, "ambulance-handover", str(tmp_path / "more.json"), "--batch-size", "30"
        )
        assert code == 0, out + err
        assert table_row(out, "more.json") == [100, 100, 100, 0]


async def test_push_refused_outright_exits_2_with_the_reason(
    settings: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "h.json"
    file.write_text(json.dumps([handover(1)]))
    async with running_api(settings) as api:
        code, _, err = await hub_push(api, "uec_not-a-token", "ambulance-handover", str(file))
        assert code == 2 and "401" in err
        token = await api.token("RX9")
        code, _, err = await hub_push(api, token, "ambulance-handovers", str(file))
        assert code == 2 and "unknown feed" in err
        bad = tmp_path / "broken.json"
        bad.write_text('[{"handover_id": "B1"},\n  {"oops"}]')
        code, out, _ = await hub_push(api, token, "ambulance-handover", str(bad))
        assert code == 1 and "not a valid JSON array at line 2" in out
