#!/usr/bin/env bash
# Times one keyword search on the embedded defaults (realistic simulator latency, 300 ms per call)
# from the API's point of view: POST /api/scraping/{platform} until the status endpoint says it ended.
# Prints the provider calls it made, the floor those calls impose (calls × latency / concurrency: no
# job can be faster with that many calls in flight), the wall time and their ratio, peak RSS and the
# most calls the simulator ever saw in flight.
# Usage: scripts/bench-job.sh [platform=tiktok] [target=5000] [keywords="home workout" | @account]
# An argument starting with @ runs a similar search for that account. Extra settings (e.g.
# SCOUT_TIKTOK_PROVIDER=apify) are passed to the server from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
platform=${1:-tiktok}
target=${2:-5000}
keywords=${3:-home workout}
latency_ms=${SIMULATOR_LATENCY_MS:-300}
concurrency=${SCOUT_PROVIDER_CONCURRENCY:-8}
bin=${SCOUT_BIN:-target/scout}
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL="sqlite:$dir/scout.db" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site RUST_LOG=scout=warn \
  SIMULATOR_LATENCY_MS="$latency_ms" SCOUT_PROVIDER_CONCURRENCY="$concurrency" "$bin" >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
for i in $(seq 1 300); do
  curl -fs "$base/healthz" >/dev/null && break
  if [ "$i" = 300 ] || ! kill -0 "$pid" 2>/dev/null; then echo "bench: the server did not start (see its output above)" >&2; exit 1; fi
  sleep 0.1
done
# The first account, as on a new install, and an API token for the calls below.
curl -fs -c "$dir/cookies" -XPOST "$base/api/auth/setup" -H 'content-type: application/json' \
  -d '{"email":"bench@scout.test","password":"benchmark password"}' >/dev/null
token=$(curl -fs -b "$dir/cookies" -XPOST "$base/api/tokens" -H "origin: $base" -H 'content-type: application/json' -d '{"name":"bench"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
auth="authorization: Bearer $token"
campaign=$(curl -fs -XPOST "$base/api/campaigns" -H "$auth" -H 'content-type: application/json' -d '{"name":"Benchmark"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
request=$(python3 -c '
import json, sys
campaign, what, target = sys.argv[1], sys.argv[2], int(sys.argv[3])
body = {"campaignId": campaign, "targetResults": target}
if what.startswith("@"):
    body["targetUsername"] = what
else:
    body["keywords"] = [k.strip() for k in what.split(",")]
print(json.dumps(body))' "$campaign" "$keywords" "$target")
start=$(date +%s.%N)
job=$(curl -fs -XPOST "$base/api/scraping/$platform" -H "$auth" -H 'content-type: application/json' -d "$request" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobId"])')
while :; do
  status=$(curl -fs -H "$auth" "$base/api/scraping/$platform?jobId=$job")
  state=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["status"])' "$status")
  case $state in pending|processing) sleep 0.2 ;; *) break ;; esac
done
end=$(date +%s.%N)
stats=$(curl -fs "$base/simulator/scrapecreators/_stats")
rss=$(grep VmHWM /proc/$pid/status | awk '{print $2}')
python3 - "$status" "$stats" "$start" "$end" "$rss" "$latency_ms" "$concurrency" "$platform" <<'PY'
import json, sys
s = json.loads(sys.argv[1]); stats = json.loads(sys.argv[2])
secs = float(sys.argv[4]) - float(sys.argv[3]); latency = int(sys.argv[6]) / 1000; conc = int(sys.argv[7])
calls = sum(stats["calls"].values())
floor = calls * latency / conc
if any(k.startswith("apify/") for k in stats["calls"]):
    # An actor run collects items at its own pace; the call latency is not what bounds it.
    print(f"{sys.argv[8]} via apify: status={s['status']} results={s['processedResults']}/{s['targetResults']} "
          f"calls={calls} wall={secs:.1f}s peak_rss={int(sys.argv[5]) / 1024:.0f}MiB")
    sys.exit(0)
print(f"{sys.argv[8]} {s['kind']}: status={s['status']} results={s['processedResults']}/{s['targetResults']} "
      f"calls={calls} {json.dumps(stats['calls'], separators=(',', ':'))} credits={s['creditsUsed']} "
      f"floor={floor:.1f}s wall={secs:.1f}s ratio={secs / floor:.2f} max_in_flight={stats['maxInFlight']} "
      f"peak_rss={int(sys.argv[5]) / 1024:.0f}MiB")
PY
