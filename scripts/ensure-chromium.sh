#!/usr/bin/env bash
# Make sure Debian's Chromium (and a font for it to render text with) is installed: the browser
# tests drive /usr/bin/chromium through Playwright's executable_path (Playwright's own browser
# download does not work here). Idempotent: does nothing when both are already there.
set -euo pipefail

CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
PACKAGES=(chromium fonts-dejavu-core)

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
dpkg-query -W -f='${Status}' fonts-dejavu-core 2>/dev/null | grep -q "install ok installed" \
    || missing+=(fonts-dejavu-core)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "Installing ${missing[*]} for the browser tests" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "error: ${missing[*]} missing and not root (no sudo): apt-get install ${PACKAGES[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Another apt run (e.g. a background install) holds the lock: wait for it instead of failing.
APT_OPTS=(-o DPkg::Lock::Timeout=600)
"${SUDO[@]}" apt-get "${APT_OPTS[@]}" update -q
"${SUDO[@]}" apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends "${missing[@]}"

if [ ! -x "$CHROMIUM" ]; then
    echo "error: $CHROMIUM is still missing after installing chromium" >&2
    exit 1
fi
"$CHROMIUM" --version >&2 || true
