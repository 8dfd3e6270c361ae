#!/usr/bin/env bash
# Creates .venv and installs Keras-Prov with everything it needs, embedded MonetDB included.
# Idempotent: a second run only checks that the stamp matches the inputs and returns.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/.venv"
python=${PYTHON:-python3}
stamp="$venv/.bootstrap-stamp"
inputs_hash=$(cat requirements.txt setup.py scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)

# The web app's front-end libraries from npm (their own stamp makes this quick when done).
bash scripts/install_web_assets.sh

# `bootstrap.sh --browser` (make test): the browser tests drive Debian's Chromium.
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
fi

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs_hash" ] && "$venv/bin/python" -c "import monetdbe, keras_prov, dfa_lib_python, dfanalyzer, keras_prov_hook" 2>/dev/null; then
  exit 0
fi

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
# A current pip and setuptools: older ones make a legacy editable install that ignores
# package_dir, so dfa_lib_python and dfanalyzer (in folders of other names) would not import.
# Below 81 because monetdbe 0.11 still imports pkg_resources.
"${pip[@]}" install "pip>=25" "setuptools>=75,<81"
"${pip[@]}" install -r requirements.txt

# monetdbe 0.11 (embedded MonetDB) only publishes wheels tagged cp310, but its compiled
# extension is built against the stable ABI (abi3), so it runs unchanged on newer CPython.
# pip refuses the cp310 tag on 3.11, so we fetch that wheel and retag it as abi3.
if ! "$venv/bin/python" -c "import monetdbe" 2>/dev/null; then
  wheels=$(mktemp -d)
  "${pip[@]}" download monetdbe==0.11 --no-deps --only-binary=:all: \
      --python-version 3.10 --platform manylinux2014_x86_64 -d "$wheels"
  "$venv/bin/python" -m wheel tags --remove --python-tag cp310.cp311.cp312.cp313 --abi-tag abi3 \
      "$wheels"/monetdbe-0.11-*.whl >/dev/null
  "${pip[@]}" install --no-deps "$wheels"/monetdbe-0.11-*abi3*.whl
  rm -rf "$wheels"
fi

"${pip[@]}" install --no-deps -e .
echo "$inputs_hash" > "$stamp"
