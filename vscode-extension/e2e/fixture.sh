#!/usr/bin/env bash
# Build the e2e fixture: a fresh git repository with recorded runs made by the real CLI.
#   quickstart  the 4-run example sweep, on the committed code
#   tuned       one run after an uncommitted edit of train.py, so its code snapshot differs
#               and comparing it with a quickstart run has a file to diff
# Usage: fixture.sh DIR   (DIR must not exist; needs `gitexp` on PATH)
set -euo pipefail

dir=$1
examples=$(cd "$(dirname "$0")/../../examples/quickstart" && pwd)

mkdir -p "$dir/examples"
cd "$dir"
git init -q
git config user.name "gitexp e2e"
git config user.email "e2e@gitexp.invalid"
cp -r "$examples" examples/quickstart
git add -A
git commit -qm "quickstart example"

gitexp run examples/quickstart/sweep.yml

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

git for-each-ref --format='%(refname)' refs/experiments/
