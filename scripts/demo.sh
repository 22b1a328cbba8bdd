#!/usr/bin/env bash
# `make demo`: open a practice app (on a virtual display when there is no screen) and let tars,
# with the offline default policy `lite`, fill it in. Prints each step and the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${VENV:-.venv}/bin/python"
[ -x "$PY" ] || PY=python3
exec "$PY" scripts/demo.py "$@"
