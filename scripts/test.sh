#!/usr/bin/env bash
# Runs every check the project has, in order:
#   ruff (lint + format), the test suite on SQLite, the same suite on a throwaway
#   PostgreSQL, and the browser (e2e) tests in Debian's chromium.
# Every step runs even if an earlier one failed; the exit status is non-zero if any failed.
# Extra arguments are passed to every pytest invocation, e.g. `bash scripts/test.sh -x -k login`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/install.sh

say() { printf '\n[test] %s\n' "$*"; }

# ---------------------------------------------------------------- bookkeeping
STEP_NAMES=()
STEP_RESULTS=()
FAILED=0
TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_SKIPPED=0
WORK="$(mktemp -d)"
PG_DIR=""
PG_BIN=""
PG_STARTED=0

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"   # a non-root user can own a throwaway cluster itself
  fi
}

stop_pg() {
  if [ "$PG_STARTED" -eq 1 ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    PG_STARTED=0
  fi
  if [ -n "$PG_DIR" ]; then rm -rf "$PG_DIR"; PG_DIR=""; fi
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  stop_pg
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

record() {  # record NAME RESULT
  STEP_NAMES+=("$1")
  STEP_RESULTS+=("$2")
  case "$2" in ok*) ;; *) FAILED=1 ;; esac
}

# Adds the counts from pytest's closing line (e.g. "3 failed, 40 passed, 2 skipped in 5.1s")
# to the totals and leaves that line, without pytest's "=" padding, in SUMMARY.
SUMMARY=""
count_pytest() {
  local line n
  line="$(grep -E '[0-9]+ (passed|failed|errors?|skipped)|no tests ran' "$1" | tail -n 1 || true)"
  n="$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
  TOTAL_PASSED=$((TOTAL_PASSED + n))
  n="$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
  TOTAL_FAILED=$((TOTAL_FAILED + n))
  n="$(grep -oE '[0-9]+ errors?' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
  TOTAL_FAILED=$((TOTAL_FAILED + n))
  n="$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
  TOTAL_SKIPPED=$((TOTAL_SKIPPED + n))
  SUMMARY="$(printf '%s' "${line//=/}" | sed -E 's/^ +| +$//g')"
}

# start_pytest NAME ENV... -- PYTEST_ARGS...: runs pytest in the background, its output in
# $WORK/NAME.log and its exit code in $WORK/NAME.rc (collected by finish_pytest).
start_pytest() {
  local name="$1"
  shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  rm -f "$WORK/$name.rc"
  (
    set +e
    env -u TEST_DATABASE_URL "${envs[@]}" .venv/bin/pytest -q "$@" >"$WORK/$name.log" 2>&1
    echo "$?" >"$WORK/$name.rc"
  ) &
}

# finish_pytest NAME ALLOW_NO_TESTS: prints the run's output and records its result.
finish_pytest() {
  local name="$1" allow_empty="$2" log="$WORK/$1.log" rc
  rc="$(cat "$WORK/$name.rc" 2>/dev/null || echo 1)"
  cat "$log"
  count_pytest "$log"
  if [ "$rc" -eq 0 ]; then
    record "$name" "ok ($SUMMARY)"
  elif [ "$rc" -eq 5 ] && [ "$allow_empty" = "yes" ]; then
    record "$name" "ok (no tests collected)"
  else
    record "$name" "FAILED (pytest exit $rc${SUMMARY:+; $SUMMARY})"
  fi
}

# run_pytest NAME ALLOW_NO_TESTS ENV... -- PYTEST_ARGS...: one run, in the foreground.
run_pytest() {
  local name="$1" allow_empty="$2"
  shift 2
  start_pytest "$name" "$@"
  wait "$!" || true
  finish_pytest "$name" "$allow_empty"
}

free_port() {
  .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_pg() {
  PG_BIN="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2
    return 1
  fi
  PG_DIR="$(mktemp -d)"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$PG_DIR"; fi
  PG_PORT="$(free_port)"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; return 1; }
  PG_STARTED=1
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -o \
    "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { cat "$PG_DIR/log" >&2; return 1; }
  as_pg "$PG_BIN/createdb" -h "$PG_DIR" -p "$PG_PORT" -U postgres linli_test
}

# ---------------------------------------------------------------- steps
say "ruff"
ruff_lint=0 ruff_fmt=0
.venv/bin/ruff check --quiet . || ruff_lint=$?
.venv/bin/ruff format --check --quiet . || ruff_fmt=$?
if [ "$ruff_lint" -eq 0 ] && [ "$ruff_fmt" -eq 0 ]; then
  record ruff ok
else
  echo "fix with: .venv/bin/ruff check --fix . && .venv/bin/ruff format ."
  record ruff "FAILED (check exit $ruff_lint, format exit $ruff_fmt)"
fi

# The SQLite and PostgreSQL runs are independent (an in-memory database per test, a throwaway
# cluster): they run at the same time, one per core, and their output is shown one after the other.
say "pytest on SQLite and on PostgreSQL (in parallel; output follows)"
PG_OK=0
if start_pg; then PG_OK=1; fi
start_pytest sqlite -- -m "not e2e and not production" "$@"
SQLITE_JOB=$!
if [ "$PG_OK" -eq 1 ]; then
  echo "PostgreSQL $(basename "$(dirname "$PG_BIN")") on 127.0.0.1:$PG_PORT"
  start_pytest postgresql \
    "TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/linli_test" -- \
    -m "not e2e and not production" "$@"
  wait "$!" || true
fi
wait "$SQLITE_JOB" || true

say "pytest on SQLite"
finish_pytest sqlite no
say "pytest on PostgreSQL"
if [ "$PG_OK" -eq 1 ]; then
  finish_pytest postgresql no
else
  record postgresql "FAILED (could not start PostgreSQL)"
fi
stop_pg

say "browser tests (chromium)"
run_pytest e2e yes HTMX_LOCAL=1 -- -m e2e "$@"

say "production stack (PostgreSQL + Redis + gunicorn -w 2 + flask worker)"
STACK_STARTED=$SECONDS
if start_pg; then
  run_pytest production no \
    "PRODUCTION_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/linli_test" -- \
    -m production -s tests/production "$@"
  STEP_RESULTS[${#STEP_RESULTS[@]}-1]="${STEP_RESULTS[${#STEP_RESULTS[@]}-1]} in $((SECONDS - STACK_STARTED)) s"
else
  record production "FAILED (could not start PostgreSQL)"
fi
stop_pg

# ---------------------------------------------------------------- summary
printf '\n[test] summary\n'
for i in "${!STEP_NAMES[@]}"; do
  printf '  %-11s %s\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}"
done
if [ "$FAILED" -eq 0 ]; then echo "  result: ALL OK"; else echo "  result: FAILED"; fi
echo "total: $TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
exit "$FAILED"
