#!/bin/sh
# call.sh scheduler|reminders — POST /api/internal/<job> with its bearer token, as the
# runbook's cron does. Any scheduler can run the same two requests (see docs/operations.md).
# Retries connection failures and 5xx three times; a 401 or 503 fails at once.
set -eu
. /run/vizdots-cron/env
case "$1" in
  scheduler) secret="$SCHEDULER_SECRET" ;;
  reminders) secret="$SCHEDULER_REMINDERS_SECRET" ;;
  *) echo "usage: call.sh scheduler|reminders" >&2; exit 2 ;;
esac
printf '%s %s: ' "$(date -u +%FT%TZ)" "$1"
curl --fail-with-body --silent --show-error --retry 3 --retry-delay 10 --max-time 120 \
  -X POST -H "Authorization: Bearer ${secret}" "${VIZDOTS_URL}/api/internal/$1"
echo
