#!/usr/bin/env bash
# The nightly merge job: one run file per family from its shards' files, into RUNS.
#   .github/nightly-merge.sh SHARDS RUNS
# SHARDS holds the shards' OUT folders in any layout (downloaded artifacts nest them);
# every FAMILY/*.json found under it belongs to that family's plan.
set -euo pipefail
cd "$(dirname "$0")/.."
shards=$1 runs=$2
mkdir -p "$runs"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
status=0
for family in attention pruning moe retrieval; do
  mapfile -t files < <(find "$shards" -path "*/$family/*.json" -type f | sort)
  [ ${#files[@]} -gt 0 ] || continue
  # A family with a missing or failed shard is reported and left out; the others still publish.
  npx -y deno@2.9.6 task merge "${files[@]}" --out "$runs/$stamp-nightly-$family.json" || status=1
done
exit $status
