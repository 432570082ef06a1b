#!/usr/bin/env bash
# Install what caseflow needs on a fresh Debian machine: system packages (when
# missing), a virtualenv and the Python dependencies from pyproject.toml.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libharfbuzz-subset0 fonts-noto-cjk poppler-utils libpango-1.0-0 libpangoft2-1.0-0 fontconfig nginx-light)
# The browser tests (tests/browser) need Debian's Chromium and npm for axe-core; `make test` sets WITH_BROWSER=1.
if [ "${WITH_BROWSER:-0}" = "1" ]; then
  APT_PACKAGES+=(chromium)
  command -v npm >/dev/null || APT_PACKAGES+=(nodejs npm)  # any npm will do (NodeSource's bundles its own)
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  $PY -m venv .venv
fi
stamp=.venv/.deps-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo "==> installing Python dependencies"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  # Dependencies only: the code is imported from the checkout itself (no editable install),
  # so several checkouts can share one environment.
  .venv/bin/python - <<'PY' > .venv/requirements.txt
import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(p["dependencies"] + [d for ds in p.get("optional-dependencies", {}).values() for d in ds]))
PY
  .venv/bin/pip install -q -r .venv/requirements.txt
  rm -f .venv/.deps-*
  touch "$stamp"
fi

# axe-core for the accessibility checks, pinned by package-lock.json; Playwright's own browser
# download is never used (the tests launch /usr/bin/chromium).
if [ "${WITH_BROWSER:-0}" = "1" ] && [ ! -f node_modules/axe-core/axe.min.js ]; then
  echo "==> installing axe-core (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
