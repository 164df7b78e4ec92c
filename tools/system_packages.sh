#!/usr/bin/env bash
# Installs the Debian packages the service and its tests need, when missing.
# Runs as root on Debian; elsewhere it says what to install and carries on.
set -euo pipefail

PACKAGES=(
  samba samba-ad-dc samba-ad-provision winbind krb5-user ldb-tools  # a real AD DC
  chromium chromium-driver fonts-noto-cjk                           # console tests, PDFs
  postgresql-client
  poppler-utils                                                     # pdftotext/pdftoppm: the report tests
)
missing=()
command -v npm >/dev/null || missing+=(nodejs npm)                  # console assets (npm ci)
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "system packages missing (install them as root): ${missing[*]}" >&2
  exit 0
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
