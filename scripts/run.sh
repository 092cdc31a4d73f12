#!/usr/bin/env bash
# Set everything up and launch GAN Studio on http://127.0.0.1:7860 with the bundled models.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python app.py "$@"
