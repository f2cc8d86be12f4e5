#!/usr/bin/env bash
# Install the patrol car's software, and nothing else, into the virtual environment at $1.
# Dockerfile.edge runs exactly this script; run it by hand to check the image's install steps.
set -euo pipefail
venv=${1:?usage: scripts/install-edge.sh VENV_DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)

python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "$repo[edge]"
# The car runs the ONNX detector; fail the install, not the patrol, if it is missing.
"$venv/bin/python" -c "import edge.detect as d; assert d.DEFAULT_WEIGHTS['onnx'].is_file(), 'ONNX weights missing'"
"$venv/bin/python" -c "import edge.read.plate_ocr as r; assert r.WEIGHTS_DIR.joinpath('plate_reader.onnx').is_file(), 'reader weights missing'"
"$venv/bin/platepatrol" --help >/dev/null
echo "edge installed in $venv"
