#!/usr/bin/env bash
# `make run`, checked: scripts/run-service --check starts the service on a fresh
# data directory and a free loopback port, stages the demo flight, checks
# /healthz, the console, the tokens and the referrals, does it again (the flight
# is reused, the old tokens refused) and stops it with SIGTERM. Part of `make test`
# so that the README's first command is exercised by CI. With
# FACEGATE_TEST_STORE=postgresql (tests/pg/with-postgres) the store is a new
# database in the test cluster (--store), dropped at the end (tests/pg/testdb).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=tests/pg/testdb
source tests/pg/testdb
trap testdb_drop EXIT
testdb_create run_check
if [[ -n ${FACEGATE_STORE:-} ]]; then
    echo "run-service check on postgresql ($FACEGATE_STORE)"
    scripts/run-service --check --store "$FACEGATE_STORE"
else
    scripts/run-service --check
fi
