#!/usr/bin/env bash
# `make run`: the service with dummy demo data (8.33). As root on Debian a
# local Samba AD DC is started too, so a hire becomes a real AD account.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${IAM_PORT:-8000}"
URL="http://127.0.0.1:${PORT}"
mkdir -p var/demo
export IAM_DEMO_MODE=1
export IAM_DATABASE_URL="${IAM_DATABASE_URL:-sqlite:///var/demo/iam.db}"
# The demo serves plain http on loopback: session cookies without Secure.
export IAM_SESSION_COOKIE_SECURE="${IAM_SESSION_COOKIE_SECURE:-0}"

if [ "$(id -u)" = 0 ] && command -v samba >/dev/null 2>&1; then
  echo "Starting a local Samba AD domain controller (dummy domain corp.example.test)..."
  $PY -m tools.samba_dc start >/dev/null
  eval "$($PY -m tools.demo_directory)"
  echo "AD: ldaps://127.0.0.1:636, accounts under OU=IAM Demo,DC=corp,DC=example,DC=test"
else
  cat <<'TXT'
No local AD could be started (needs root and Debian's samba package).
The demo runs without a directory: accounts are planned and wait in the queue.
To point the service at your directory, write a connectors file (README,
"Configuration"), export IAM_CONNECTORS_FILE=/path/to/connectors.yaml and the
password variable it names (e.g. IAM_AD_BIND_PASSWORD), then run `make run` again.
TXT
fi

$PY -m iam_service db upgrade
$PY -m iam_service demo seed --url "$URL"
echo
echo "Console: $URL/console/ (sign in as the local administrator above; the first"
echo "sign-in shows a QR code for an authenticator app: TOTP)."
echo "Starting the service on $URL (Ctrl-C stops it)."
exec $PY -m iam_service serve --port "$PORT" --with-worker
