#!/usr/bin/env bash
# The portal's browser tests drive Debian's chromium through its chromedriver.
# Idempotent: installs both only when /usr/bin/chromium or /usr/bin/chromedriver is missing.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-browser: no apt-get here; install chromium and chromedriver yourself" >&2
    exit 1
fi
SUDO=""
if [[ "$(id -u)" != 0 ]]; then
    SUDO="sudo"
fi
echo "ensure-browser: installing chromium and chromium-driver (Debian packages)"
$SUDO apt-get update -qq
# fonts-liberation: readable text in the screenshots the tests keep as artifacts.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    chromium chromium-driver fonts-liberation >/dev/null
/usr/bin/chromium --version
