#!/usr/bin/env bash
# Build the e2e fixture: a fresh git repository with recorded runs.
#   quickstart  the 4-run example sweep, on the committed code (real `gitexp run`)
#   tuned       one run after an uncommitted edit of train.py, so its code snapshot differs
#               and comparing it with a quickstart run has a file to diff
#   sweep0..9   2,000 generated records (tests/recordgen.py: the documented record format),
#               so the table and the sidebar are tried at scale
#   images      2 runs that log pictures with logx.add_image (real `gitexp run`)
#   live.yml    a sweep the test launches from the editor: 2 runs logging a point every 0.3 s
#   long        (GITEXP_E2E_LONG=1, for the benchmark) 100 runs x 1,000 points of loss
# Usage: fixture.sh DIR   (DIR must not exist; needs `gitexp` on PATH). GITEXP_E2E_RUNS sets
# how many records are generated (default 2000).
set -euo pipefail

dir=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
examples=$root/examples/quickstart

mkdir -p "$dir/examples"
cd "$dir"
git init -q -b main
git config user.name "gitexp e2e"
git config user.email "e2e@gitexp.invalid"
cp -r "$examples" examples/quickstart
cat > live_train.py <<'PY'
"""Logs a slowly falling loss for about a minute, so the editor can watch it live."""
import argparse
import time

import gitexp

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--steps", type=int, default=200)
args = parser.parse_args()
for step in range(args.steps):
    gitexp.log({"loss": 1.0 / (1 + args.lr * step)}, step=step)
    gitexp.flush()
    time.sleep(0.3)
PY
cat > images_train.py <<'PY'
"""Logs a 32x32 picture (a square moving across) at 6 steps with logx.add_image, as runx scripts do."""
import argparse

import numpy as np
from gitexp.logx import logx

parser = argparse.ArgumentParser()
parser.add_argument("--size", type=int, default=8)
args = parser.parse_args()
logx.initialize(tensorboard=True)
for step in range(6):
    picture = np.zeros((3, 32, 32))
    picture[0] = np.linspace(0, 1, 32)[None, :]
    picture[:, 4 + 4 * step:4 + 4 * step + args.size, 12:12 + args.size] = 1.0
    logx.add_image("samples/moving", picture, step)
    logx.metric("val", {"loss": 1.0 / (step + 1)}, step)
logx.tensorboard.close()
PY
cat > images.yml <<'YAML'
CMD: python images_train.py
HPARAMS:
  size: [6, 10]
YAML
cat > live.yml <<'YAML'
CMD: python live_train.py
HPARAMS:
  lr: [0.1, 0.5]
YAML
git add -A
git commit -qm "quickstart example"

gitexp run examples/quickstart/sweep.yml
gitexp run images.yml

python3 - "$root/tests" "${GITEXP_E2E_RUNS:-2000}" "${GITEXP_E2E_LONG:-}" <<'PY'
import sys
from pathlib import Path

sys.path.insert(0, sys.argv[1])
import recordgen

recordgen.write(Path("."), recordgen.synthetic(int(sys.argv[2]), sweeps=10, epochs=20))
if sys.argv[3]:
    recordgen.write(Path("."), [
        recordgen.Record("long", f"run{i}", {"lr": 0.001 * (i + 1), "seed": i}, {"loss": 1 / (1 + i)},
                         [{"step": s, "key": "loss", "value": (1 + i / 100) / (1 + 0.01 * s), "time": 1.7e9 + s}
                          for s in range(1000)])
        for i in range(100)])
PY

sed -i 's/0\.9 \* v + g/0.8 * v + g/' examples/quickstart/train.py
cat > examples/quickstart/tuned.yml <<'YAML'
# Momentum 0.8 instead of 0.9 (an uncommitted edit of train.py), one learning rate.
CMD: python examples/quickstart/train.py
HPARAMS:
  lr: 0.05
  solver: momentum
  epochs: 5
  logdir: LOGDIR
YAML
gitexp run examples/quickstart/tuned.yml

git for-each-ref --format='%(refname)' refs/experiments/ | grep -v '/sweep[0-9]/' || true
echo "$(git for-each-ref refs/experiments/ | wc -l) runs"
