#!/usr/bin/env bash
# The read benchmarks drive the query API with wrk (Debian's package): its C client leaves the
# cores to the hub. As root, install it if missing; otherwise say that the benchmarks fall back
# to bench/loadgen.py (Python), whose own CPU use lowers the rates they can show.
# bench_read_tail profiles `hub serve` with py-spy, a tool rather than a dependency of the hub:
# it goes into the venv at a pinned version, and the benchmark skips its profile without it.
set -euo pipefail
BIN="${BIN:-.venv/bin}"
PY_SPY=py-spy==0.4.3
if [ ! -x "$BIN/py-spy" ]; then
  echo "installing $PY_SPY into $BIN (profiles of bench_read_tail)"
  "$BIN/pip" install --quiet "$PY_SPY" || echo "note: py-spy not installed; bench_read_tail runs without its profile" >&2
fi
command -v wrk >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing wrk from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends wrk >/dev/null
  exit 0
fi
echo "note: wrk not installed; bench_query falls back to bench/loadgen.py (run as root to install)" >&2
