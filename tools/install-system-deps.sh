#!/usr/bin/env bash
# Debian packages the node and its tests need. Idempotent; runs before the venv is built.
#  - libmagic1: python-magic detects attachment types by their bytes (Art. 4.3).
#  - xmlsec1: the independent XMLDSig implementation the interoperability tests use.
#  - chromium: the headless browser the console's tests drive through Playwright
#    (executable_path=/usr/bin/chromium; Playwright downloads no browser here).
#  - poppler-utils: pdftoppm renders the node's PDF reports to PNG for review.
set -euo pipefail
need=()
dpkg -s libmagic1 >/dev/null 2>&1 || need+=(libmagic1)
command -v xmlsec1 >/dev/null 2>&1 || need+=(xmlsec1)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]} (run as root: apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
