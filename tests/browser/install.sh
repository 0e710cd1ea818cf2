#!/usr/bin/env bash
# Installs Debian's chromium for the browser test of the HTML report (tests/it/browser.rs),
# when it is missing and this is root on Debian; otherwise says why the test will skip.
set -uo pipefail
for name in chromium chromium-browser; do
  if command -v "$name" >/dev/null; then
    exit 0
  fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "tests: installing chromium with apt-get (for the browser test of report.html)" >&2
  apt-get update -qq >/dev/null
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
    exit 0
  fi
  echo "tests: could not install chromium; the browser test will skip and say so" >&2
else
  echo "tests: chromium is not installed (Debian: sudo apt-get install chromium); the browser test will skip and say so" >&2
fi
exit 0
