#!/bin/sh
# npm test: the type-check and tap at once, so the tests need not wait for tsc (4-7 s when little
# changed, 13-25 s from cold, on one core while the other idles). Arguments go to tap, as
# `npm test -- test/auth/auth.test.ts`. Fails when either fails.
tsc -p tsconfig.test.json &
typecheck=$!
tap "$@"
tests=$?
if ! wait "$typecheck"; then
  echo "npm test: the type-check failed (above; npm run typecheck shows it alone)" >&2
  exit 1
fi
exit "$tests"
