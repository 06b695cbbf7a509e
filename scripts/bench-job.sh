#!/usr/bin/env bash
# Times one TikTok keyword job on the embedded defaults (realistic simulator latency) from the API's
# point of view: POST /api/scraping/tiktok until the status endpoint says "completed".
# Usage: scripts/bench-job.sh [target=5000] [keywords="home workout"]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-5000}
keywords=${2:-home workout}
bin=${SCOUT_BIN:-target/scout}
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL="sqlite:$dir/scout.db" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site RUST_LOG=scout=warn "$bin" >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
campaign=$(curl -fs -XPOST "$base/api/campaigns" -H 'content-type: application/json' -d '{"name":"Benchmark"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
kw_json=$(python3 -c 'import json,sys; print(json.dumps([k.strip() for k in sys.argv[1].split(",")]))' "$keywords")
start=$(date +%s.%N)
job=$(curl -fs -XPOST "$base/api/scraping/tiktok" -H 'content-type: application/json' \
  -d "{\"campaignId\":\"$campaign\",\"keywords\":$kw_json,\"targetResults\":$target}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobId"])')
while :; do
  status=$(curl -fs "$base/api/scraping/tiktok?jobId=$job")
  state=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["status"])' "$status")
  case $state in pending|processing) sleep 1 ;; *) break ;; esac
done
end=$(date +%s.%N)
rss=$(grep VmHWM /proc/$pid/status | awk '{print $2}')
python3 - "$status" "$start" "$end" "$rss" <<'PY'
import json, sys
s = json.loads(sys.argv[1]); secs = float(sys.argv[3]) - float(sys.argv[2])
print(f"status={s['status']} results={s['processedResults']}/{s['targetResults']} provider_pages={s['processedRuns']} "
      f"wall={secs:.1f}s peak_rss={int(sys.argv[4])/1024:.0f}MiB")
PY
