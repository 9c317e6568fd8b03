#!/usr/bin/env bash
# Installs what is missing, brings the database schema up to date, seeds demo data into an
# empty database and starts the development server at http://127.0.0.1:5000.
# Configuration comes from the environment (see README.md); the default is LINLI_CONFIG=development
# with SQLite at instance/linli.db. Development keys (SECRET_KEY, ID_HASH_KEY, DATA_KEY) not set in
# the environment are generated once into instance/secret_keys.json (mode 600) and reused.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/install.sh

export LINLI_CONFIG="${LINLI_CONFIG:-development}"
FLASK=(.venv/bin/flask --app wsgi)

echo "[run] database: upgrade schema"
"${FLASK[@]}" db upgrade
echo "[run] demo data: seed if the database is empty"
"${FLASK[@]}" demo seed --size small --if-empty
echo "[run] starting Linli at http://127.0.0.1:5000 (Ctrl+C to stop)"
exec "${FLASK[@]}" run --host 127.0.0.1 --port 5000
