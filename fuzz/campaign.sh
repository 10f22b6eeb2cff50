#!/usr/bin/env bash
# The long fuzz campaign (issue 8): every target for MINUTES, JOBS targets at
# a time, then one table row per target for the README.
#   bash fuzz/campaign.sh [MINUTES] [JOBS] [TARGET ...]
#   bash fuzz/campaign.sh --report MINUTES [TARGET ...]   (table from the logs)
# Defaults: 30 minutes, 2 jobs (this is a 2-core machine), all six targets.
# The working corpus (fuzz/corpus/, not committed) is kept between runs and
# topped up from the committed seeds, so a campaign continues the last one.
# Logs go to fuzz/campaign/<target>.log; a crash, OOM or timeout leaves its
# input in fuzz/artifacts/<target>/ and makes this script fail: copy it into
# fuzz/regressions/<target>/ so `cargo test` replays it forever.
set -euo pipefail
cd "$(dirname "$0")"
report_only=0
if [ "${1:-}" = "--report" ]; then
  report_only=1
  minutes="${2:-30}"
  shift $(( $# > 2 ? 2 : $# ))
else
  minutes="${1:-30}"
  jobs="${2:-2}"
  shift $(( $# > 2 ? 2 : $# ))
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pdu conn_sequence capture ntlmssp verify ffi)

report() {
  local status=0
  echo "| target | minutes | executions | exec/s | coverage (edges) | features | corpus | peak RSS | crashes, OOMs, timeouts |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for t in "${targets[@]}"; do
    log="campaign/$t.log"
    stat() { awk -v k="stat::$1:" '$1 == k { v = $2 } END { print v }' "$log"; }
    execs=$(stat number_of_executed_units)
    last=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' | tail -1)
    crashes=$(ls "artifacts/$t" 2>/dev/null | grep -cE '^(crash|oom|timeout|leak)-' || true)
    [ "$crashes" = 0 ] || status=1
    echo "| $t | $minutes | $(awk -v n="${execs:-0}" 'BEGIN{printf "%.1f M", n/1e6}') | $(stat average_exec_per_sec) | $(echo "$last" | awk '{print $2}') | $(echo "$last" | awk '{print $4}') | $(echo "$last" | awk '{print $6}') | $(stat peak_rss_mb) MB | $crashes |"
  done
  return $status
}
if [ "$report_only" = 1 ]; then
  report
  exit $?
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
mkdir -p campaign
for t in "${targets[@]}"; do
  cargo fuzz build "$t" -s none >/dev/null 2>&1
  mkdir -p "corpus/$t"
  cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
done

run_one() {
  t="$1"; secs=$(( $2 * 60 ))
  # -timeout=10: an input that takes 10 s is a bug (a loop), not slowness.
  cargo fuzz run "$t" -s none -- -max_total_time="$secs" -timeout=10 \
    -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
    >"campaign/$t.log" 2>&1 || true
}
export -f run_one
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c "run_one {} $minutes"

report
