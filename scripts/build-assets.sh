#!/usr/bin/env bash
# Install the dashboard's front-end packages from web/package-lock.json and copy the files the
# hub serves into hub/api/static/vendor/ (git-ignored). Run by `make run` and `make test` when
# the vendor files are missing or web/package*.json changed; afterwards everything works offline.
#
# nhsuk-frontend's compiled CSS loads the Frutiger web font from the NHS's CDN and its icons from
# /assets/: the copy here drops the CDN font (the NHS.UK font stack falls back to Arial, as
# NHS.UK itself does when the font is unavailable) and points icons at the hub's own copies.
set -euo pipefail
cd "$(dirname "$0")/.."
WEB=web
OUT=hub/api/static/vendor
command -v npm >/dev/null 2>&1 || { echo "build-assets: npm is needed (Node.js ≥ 20)" >&2; exit 1; }

# Reinstall only when the lock file is newer than the last install: `npm ci` wipes node_modules.
if [ ! -f "$WEB/node_modules/.package-lock.json" ] || [ "$WEB/package-lock.json" -nt "$WEB/node_modules/.package-lock.json" ]; then
  (cd "$WEB" && npm ci --no-audit --no-fund --ignore-scripts --prefer-offline --loglevel=error)
fi

NHSUK="$WEB/node_modules/nhsuk-frontend/dist/nhsuk"
UPLOT="$WEB/node_modules/uplot/dist"
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp/nhsuk/assets" "$OUT.tmp/uplot"
cp -R "$NHSUK/assets/images" "$OUT.tmp/nhsuk/assets/"
cp "$NHSUK/nhsuk-frontend.min.js" "$OUT.tmp/nhsuk/"
# Drop every @font-face that loads from another host; serve icons from the hub.
sed -E -e 's#@font-face\{[^}]*https://[^}]*\}##g' \
       -e 's#url\(/assets/#url(/static/vendor/nhsuk/assets/#g' \
       -e 's#/\*\# sourceMappingURL=[^*]*\*/##g' \
       "$NHSUK/nhsuk-frontend.min.css" > "$OUT.tmp/nhsuk/nhsuk-frontend.min.css"
sed -i -e 's#//\# sourceMappingURL=.*$##' "$OUT.tmp/nhsuk/nhsuk-frontend.min.js"
cp "$UPLOT/uPlot.esm.js" "$UPLOT/uPlot.min.css" "$OUT.tmp/uplot/"
cp "$WEB/node_modules/nhsuk-frontend/package.json" "$OUT.tmp/nhsuk/package.json"
cp "$WEB/node_modules/uplot/package.json" "$OUT.tmp/uplot/package.json"

if grep -Eq 'url\((https?:)?//' "$OUT.tmp/nhsuk/nhsuk-frontend.min.css"; then
  echo "build-assets: nhsuk-frontend CSS still loads from another host" >&2
  exit 1
fi
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
touch "$OUT/.built"
echo "build-assets: nhsuk-frontend $(node -p "require('./$OUT/nhsuk/package.json').version") and uPlot $(node -p "require('./$OUT/uplot/package.json').version") in $OUT"
