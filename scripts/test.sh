#!/usr/bin/env bash
# Set everything up and run the whole test suite (what .ci/run runs on a clean clone).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
# Browser tests need Debian's chromium (and a CJK font for the Chinese UI); the emoji set
# needs Debian's Noto Color Emoji font.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)  # a font with no emoji
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
exec .venv/bin/python -m pytest "$@"
