#!/usr/bin/env bash
# The deploy tools the export is tested against, each in its own virtual environment (their
# pins clash with the suite's: PaddleX pins PyYAML 6.0.2 and numpy<2.4, PaddleClas 2.6 numpy
# 1.x). Usage: source .ci/consumers.sh DIR  -> exports PADDLE_SUITE_PADDLEX_PYTHON and
# PADDLE_SUITE_PADDLECLAS_PYTHON for tests/integration/test_deploy_consumers.py.
set -euo pipefail
consumers_dir="$1"
make_consumer() {   # name, packages...
  local venv="$consumers_dir/$1" log="$consumers_dir/$1-install.log"; shift
  python3 -m venv "$venv"
  if ! { "$venv/bin/python" -m pip install -q --upgrade pip && "$venv/bin/python" -m pip install -q "$@"; } >"$log" 2>&1; then
    tail -n 30 "$log"; echo "installing $* into $venv failed"; return 1
  fi
}
start=$SECONDS
make_consumer paddlex paddlepaddle==3.3.1 "paddlex[cv]==3.7.2"
make_consumer paddleclas paddlepaddle==3.3.1 paddleclas==2.6.0
echo "consumer environments built in $((SECONDS - start)) s"
export PADDLE_SUITE_PADDLEX_PYTHON="$consumers_dir/paddlex/bin/python"
export PADDLE_SUITE_PADDLECLAS_PYTHON="$consumers_dir/paddleclas/bin/python"
