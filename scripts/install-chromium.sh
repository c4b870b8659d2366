#!/usr/bin/env bash
# Headless Chromium for tests/test_report_browser.py (report.html opened in a real browser): the Debian
# package `chromium`, driven through its DevTools port; no browser download from a registry. Run by
# .ci/run. Installs only when missing, as root, with apt-get; otherwise says what to do and exits 0
# (the browser test then skips, or fails under BENCH_REQUIRE_BROWSER=1).
set -euo pipefail
for name in chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then
        echo "browser: $("$name" --version 2>/dev/null | head -1)"
        exit 0
    fi
done
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "no Chromium, and not root with apt-get: install the package 'chromium' to run the browser test" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends chromium || { apt-get update && apt-get install -y --no-install-recommends chromium; }
echo "browser: $(chromium --version 2>/dev/null | head -1)"
