#!/usr/bin/env bash
# Installs the engines `heddle xcheck` and its tests run, where they are missing:
#   node      V8           (must already be there: Node.js is not installed by this script)
#   bun       JavaScriptCore  npm package `bun`
#   chromium  V8 (browser)    Debian package `chromium`
#   firefox   SpiderMonkey    Debian package `firefox-esr`
# wasmtime is a Rust crate (built with heddle). Run as root (or with sudo) on Debian.
# Exits non-zero, saying what is missing, when an engine cannot be installed.
set -euo pipefail

case "${1:-}" in
  -h|--help)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--help]" >&2; exit 2 ;;
esac

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

apt_missing=()
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || apt_missing+=(chromium)
command -v firefox-esr >/dev/null || command -v firefox >/dev/null || apt_missing+=(firefox-esr)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "== installing ${apt_missing[*]} (apt-get)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_missing[@]}"
fi

if ! command -v bun >/dev/null; then
  command -v npm >/dev/null || { echo "FATAL: npm not found: install Node.js (it brings npm), then rerun" >&2; exit 1; }
  echo "== installing bun (npm)"
  $sudo npm install -g --allow-scripts=bun bun@1.4.5 || $sudo npm install -g bun@1.4.5
fi

missing=0
for e in node bun; do
  if command -v "$e" >/dev/null; then echo "$e: $("$e" --version)"; else echo "FATAL: $e not found" >&2; missing=1; fi
done
if command -v chromium >/dev/null; then chromium --version; elif command -v chromium-browser >/dev/null; then chromium-browser --version; else echo "FATAL: chromium not found" >&2; missing=1; fi
if command -v firefox-esr >/dev/null; then firefox-esr --version; elif command -v firefox >/dev/null; then firefox --version; else echo "FATAL: firefox not found" >&2; missing=1; fi
exit $missing
