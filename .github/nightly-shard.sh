#!/usr/bin/env bash
# One cell of the nightly matrix: runs one shard of one family's plan and leaves its run file in
# OUT/FAMILY/. The workflow and .github/run-local.sh both call this, so the steps CI runs are the
# steps a fork's maintainer can run by hand.
#   .github/nightly-shard.sh FAMILY I/N PROFILE OUT [extra bench options...]
set -euo pipefail
cd "$(dirname "$0")/.."
family=$1 shard=$2 profile=$3 out=$4
shift 4
mkdir -p "$out/$family"
# The shard plan is balanced by the committed history (results/runs), which every shard of the
# night sees alike; its run file goes to OUT, not into the history it planned from.
cp -r results/runs/. "$out/$family/.history" 2>/dev/null || mkdir -p "$out/$family/.history"
npx -y deno@2.9.6 task bench --family "$family" --profile "$profile" --shard "$shard" \
  --out "$out/$family/.history" "$@"
# Keep only the file this shard wrote: the one not in the history.
for f in "$out/$family/.history"/*.json; do
  [ -e "results/runs/$(basename "$f")" ] || mv "$f" "$out/$family/"
done
rm -rf "$out/$family/.history"
ls "$out/$family"
