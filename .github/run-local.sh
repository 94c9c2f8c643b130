#!/usr/bin/env bash
# The nightly matrix on one machine, on a tiny plan: two shards of the retrieval family's smoke
# profile (one small task, two cases), the merge job and the static site, through the same
# scripts the workflow runs. CI runs it (tests/workflows_test.ts); a fork runs it to try a change
# to the pipeline before the night does.
#   .github/run-local.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: .github/run-local.sh DIR}
tiny=(--task spam-known-item-retrieval --method bm25 --param spam-known-item-retrieval.queries=20,30)
for shard in 1/2 2/2; do
  .github/nightly-shard.sh retrieval "$shard" smoke "$dir/shard-${shard%/*}" "${tiny[@]}"
done
.github/nightly-merge.sh "$dir" "$dir/runs"
npx -y deno@2.9.6 task site --results "$dir/runs" --out "$dir/site"
