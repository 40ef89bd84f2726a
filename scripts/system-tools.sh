#!/usr/bin/env bash
# Make sure the system tools some tests drive are installed: Debian's chromium (browser tests),
# prometheus (promtool rule tests and a real scrape), and a Java 17+ runtime with Maven (the
# Apache Kafka the `kafka` tests run: Maven fetches its jars from Maven Central once, into
# ~/.cache/uec-hub). As root, install what is missing; otherwise say what is missing. With
# CI=true a missing tool is an error, never a skip.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
java_version=$(command -v java >/dev/null 2>&1 && java_major || true)
if [ -z "$java_version" ] || [ "$java_version" -lt 17 ]; then
  need+=(openjdk-17-jre-headless)
fi
command -v mvn >/dev/null 2>&1 || need+=(maven)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d 101: install the packages without starting their services.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
  exit 0
fi
if [ "${CI:-}" = "true" ]; then
  echo "missing system tools: ${need[*]} (run make test as root to install them)" >&2
  exit 1
fi
echo "note: ${need[*]} not installed; the tests needing them will be skipped (run as root to install)" >&2
