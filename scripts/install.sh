#!/usr/bin/env bash
# Idempotent installer for Linli on Debian 12.
#   - Debian packages (only those missing; `apt-get update` only if something must be installed)
#   - Python virtualenv in .venv with the project's dependencies (incl. the test and production
#     extras: the tests start a throwaway redis-server and talk to it with the redis client)
#   - htmx from the npm registry, copied to static/vendor/ for offline/intranet mode
#   - the Simplified Chinese face of Noto Sans CJK as single-face OTFs in instance/fonts/
# Safe to run again: every step is skipped when its result is already present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

HTMX_VERSION="2.0.11"
HTMX_SRI="sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"
HTMX_TARGET="static/vendor/htmx-${HTMX_VERSION}.min.js"
FONT_DIR="instance/fonts"
NOTO_DIR="/usr/share/fonts/opentype/noto"

say() { printf '[install] %s\n' "$*"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); fi
fi

# ---------------------------------------------------------------- apt packages
APT_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 shared-mime-info libharfbuzz-subset0
              fonts-noto-cjk poppler-utils zbar-tools chromium postgresql wrk redis-server)

pkg_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true)" = "ii " ]
}

missing=()
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  pkg_installed python3-venv || missing+=(python3-venv)
fi
for p in "${APT_PACKAGES[@]}"; do
  pkg_installed "$p" || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && [ "${#SUDO[@]}" -eq 0 ]; then
    die "need root (or sudo) to install: ${missing[*]}"
  fi
  say "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  APT_OPTS=(-q -o DPkg::Lock::Timeout=900 -o Dpkg::Use-Pty=0)
  "${SUDO[@]}" apt-get "${APT_OPTS[@]}" update >/dev/null
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
  say "apt: done"
else
  say "apt: all packages present"
fi

# ---------------------------------------------------------------- python venv
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c '' >/dev/null 2>&1; then
  say "venv: creating .venv"
  python3 -m venv .venv
fi

PY_HASH="$(sha256sum pyproject.toml | cut -d' ' -f1)"
STAMP=".venv/.installed-${PY_HASH}"
if [ -f "$STAMP" ]; then
  say "pip: dependencies up to date"
else
  say "pip: installing dependencies (pyproject.toml changed or first run)"
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
  if ! .venv/bin/pip install -qq -e '.[test,production]'; then
    say "pip: editable install failed; installing the dependency list instead"
    mapfile -t deps < <(.venv/bin/python - <<'PY'
import tomllib
with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)["project"]
extras = project.get("optional-dependencies", {})
for dep in project.get("dependencies", []) + extras.get("test", []) + extras.get("production", []):
    print(dep)
PY
)
    .venv/bin/pip install -qq "${deps[@]}"
  fi
  # setuptools leaves build metadata in the work tree; the venv does not need it.
  rm -rf linli.egg-info build
  rm -f .venv/.installed-*
  touch "$STAMP"
  say "pip: done"
fi

# ---------------------------------------------------------------- htmx (npm)
sri_of() {
  printf 'sha384-%s' "$(openssl dgst -sha384 -binary "$1" | openssl base64 -A)"
}

if [ -f "$HTMX_TARGET" ] && [ "$(sri_of "$HTMX_TARGET")" = "$HTMX_SRI" ]; then
  say "htmx: $HTMX_TARGET present"
else
  say "htmx: npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  src="node_modules/htmx.org/dist/htmx.min.js"
  [ -f "$src" ] || die "$src missing after npm ci"
  [ "$(sri_of "$src")" = "$HTMX_SRI" ] || die "$src does not match the pinned SRI hash"
  mkdir -p static/vendor
  cp "$src" "$HTMX_TARGET"
  say "htmx: copied to $HTMX_TARGET"
fi

# ---------------------------------------------------------------- CJK fonts
mkdir -p "$FONT_DIR"
for weight in Regular Bold; do
  out="$FONT_DIR/NotoSansSC-${weight}.otf"
  if [ -s "$out" ]; then
    say "fonts: $out present"
    continue
  fi
  src="$NOTO_DIR/NotoSansCJK-${weight}.ttc"
  [ -f "$src" ] || die "$src missing (Debian package fonts-noto-cjk)"
  say "fonts: extracting Noto Sans CJK SC ${weight} -> $out"
  .venv/bin/python - "$src" "$out" <<'PY'
import os
import sys

from fontTools.ttLib import TTCollection

src, out = sys.argv[1], sys.argv[2]
wanted = "Noto Sans CJK SC"
collection = TTCollection(src, lazy=True)
for font in collection.fonts:
    names = font["name"]
    family = names.getDebugName(16) or names.getDebugName(1)
    if family == wanted:
        tmp = out + ".tmp"
        font.save(tmp)
        os.replace(tmp, out)
        break
else:
    sys.exit(f"no face named {wanted!r} in {src}")
PY
done

say "ready"
