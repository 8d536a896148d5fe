#!/usr/bin/env bash
# bench/connmem.sh: server memory per idle connection (bench/conn_memory.py), for run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/conn_memory.py --kasten "${KASTEN_BIN:-build/kasten}" --n "${CONNS:-2000}"
