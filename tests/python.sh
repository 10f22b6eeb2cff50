#!/usr/bin/env bash
# The Python package: build the abi3 wheel with maturin, install it into a
# fresh virtual environment as a user would (`pip install` of the wheel),
# and run its tests (python/tests: against the CLI on every lab and corpus
# capture, and the Spark example in local mode).
#   bash tests/python.sh
# The tools (maturin, pytest, pandas, pyarrow, pyspark) live in a venv kept
# outside the clone, $SMBSIGN_VENV (default /var/cache/smbsign/venv), made
# once; the wheel goes into a new venv each run.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${SMBSIGN_VENV:-/var/cache/smbsign/venv}"
wanted="maturin>=1.9,<2 pytest>=7 pandas>=1.5 pyarrow>=10 pyspark>=3.5"
if [ "$(cat "$tools/.smbsign-ready" 2>/dev/null)" != "$wanted" ]; then
  rm -rf "$tools"
  python3 -m venv "$tools"
  # shellcheck disable=SC2086
  "$tools/bin/pip" install --quiet $wanted
  echo "$wanted" > "$tools/.smbsign-ready"
fi
dist="$PWD/target/python-dist"
rm -rf "$dist"
# The test build: optimised without the release build's fat LTO (the
# benchmarks build --release).
# Its Cargo build is cached outside the clone too (crates built once).
(cd python && CARGO_TARGET_DIR="${SMBSIGN_PYTHON_TARGET:-/var/cache/smbsign/python-target}" \
  "$tools/bin/maturin" build --quiet --profile ci --out "$dist")
wheel="$(ls "$dist"/smbsign-*-cp39-abi3-*.whl)"
echo "built $(basename "$wheel")"
# A user's environment: the wheel and its test extras, over the tools'
# packages (pandas, pyarrow, pyspark) so nothing is downloaded again.
env_dir="$PWD/target/python-env"
rm -rf "$env_dir"
"$tools/bin/python" -m venv "$env_dir"
site="$(ls -d "$tools"/lib/python3*/site-packages)"
echo "$site" > "$(ls -d "$env_dir"/lib/python3*/site-packages)/smbsign-tools.pth"
"$env_dir/bin/pip" install --quiet --no-deps "$wheel"
cargo build --quiet --bin smbsign
cd python/tests
SMBSIGN_CLI="$OLDPWD/target/debug/smbsign" "$env_dir/bin/python" -m pytest -q -p no:cacheprovider .
