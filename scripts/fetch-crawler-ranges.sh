#!/usr/bin/env bash
# Downloads the address ranges crawler operators publish into DIR, one file per source
# (`<id>.<n>.json` or `<id>.<n>.txt`), for `gatewatch run --crawler-ranges DIR`. Run it daily
# (cron, or a Kubernetes CronJob writing the volume): ranges change. A source that fails is
# reported and its previous file kept; the exit status is 1 if any failed.
#
#   scripts/fetch-crawler-ranges.sh /var/lib/gatewatch/crawler-ranges [path/to/gatewatch]
set -euo pipefail
DIR="${1:?usage: $0 DIR [GATEWATCH]}"
GW="${2:-gatewatch}"
mkdir -p "$DIR"
failed=0
n=0
prev=""
while IFS=$'\t' read -r id url; do
  if [ "$id" = "$prev" ]; then n=$((n + 1)); else n=1; prev="$id"; fi
  ext=txt
  case "$url" in *json*) ext=json ;; esac
  out="$DIR/$id.$n.$ext"
  if curl -fsSL --max-time 30 -o "$out.part" "$url"; then
    mv "$out.part" "$out"
  else
    rm -f "$out.part"
    echo "fetch-crawler-ranges: $id: cannot fetch $url (previous file kept)" >&2
    failed=1
  fi
done < <("$GW" rules crawlers)
echo "fetch-crawler-ranges: $(find "$DIR" -maxdepth 1 -type f | wc -l) file(s) in $DIR" >&2
exit "$failed"
