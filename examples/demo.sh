#!/usr/bin/env bash
# The README's first command: record the bundled example in a scratch repository, then list it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
scratch="$(mktemp -d)/demo-repo"
mkdir -p "$scratch" && cd "$scratch"
git init -q -b main .
git config user.name "gitrun demo"
git config user.email "demo@example.com"
cp "$here/train.py" .
echo "models/" > .gitignore
git add . && git commit -q -m "add training script"
echo "# scratch repository: $scratch"
git run -m "baseline" -- python train.py --lr 0.1
echo "# tweak the script without committing: the snapshot keeps the edit"
sed -i 's/default=5/default=8/' train.py
git run -m "more epochs, higher lr" --tag sweep -- python train.py --lr 0.3
git run list
newest="$(git run list --json | python -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"
git run show "$newest"
echo "# what changed between the two runs"
git run diff "$(git run list --json | python -c 'import json,sys; print(json.load(sys.stdin)[1]["id"])')" "$newest"
