#!/usr/bin/env bash
# Installs schemathesis (the OpenAPI fuzzer behind `npm run fuzz`) into .venv/ from PyPI, pinned, unless that
# exact version is already there. Python 3.9+ (checked here with 3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=4.32.5
if [ -x .venv/bin/schemathesis ] && .venv/bin/pip show schemathesis 2>/dev/null | grep -x "Version: $VERSION" >/dev/null; then exit 0; fi
echo "installing schemathesis==$VERSION into .venv/ (pip)"
[ -x .venv/bin/pip ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$VERSION"
