#!/usr/bin/env bash
# `make run`, checked: scripts/run-service --check starts the service on a fresh
# data directory and a free loopback port, stages the demo flight, checks
# /healthz, the console, the tokens and the referrals, does it again (the flight
# is reused, the old tokens refused) and stops it with SIGTERM. Part of `make test`
# so that the README's first command is exercised by CI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec scripts/run-service --check
