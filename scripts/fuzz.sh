#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ with -sanitize=fuzzer,address and runs each for
# SECONDS (default 30) on a seed corpus made from the repository's test inputs. Exits
# non-zero on any crash, leak or broken invariant; the input is kept in
# .build-fuzz/crashes/. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz-json fuzz-csv fuzz-time fuzz-decider)
bash scripts/deps.sh
work=.build-fuzz
mkdir -p "$work/crashes"
# The fuzzing package names this checkout through a fixed path, whatever the folder is called.
ln -sfn "$(pwd)" "$work/backorderd"
swift build --package-path Fuzz --scratch-path "$work/build" -c debug \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >&2
bin=$(swift build --package-path Fuzz --scratch-path "$work/build" -c debug --show-bin-path)

# Seeds: the sample change files, the test fixtures' lines, and a few edge cases.
seed() {  # target, then lines on stdin: one file per line
  local dir="$work/corpus/$1" n=0
  mkdir -p "$dir"
  while IFS= read -r line; do n=$((n + 1)); printf '%s' "$line" > "$dir/seed-$n"; done
}
cat config/samples/*.jsonl | seed fuzz-json
grep -hoE "#\"\{[^#]*\}\"#" Tests -r | sed -E 's/^#"//; s/"#$//' | head -300 | seed fuzz-json
for f in config/samples/*.csv; do mkdir -p "$work/corpus/fuzz-csv"; cp "$f" "$work/corpus/fuzz-csv/$(basename "$f")"; done
printf '\xef\xbb\xbf"type","sku","on_hand"\nstock,A,1\n' > "$work/corpus/fuzz-csv/bom"
printf '%s\n' 2026-12-01 2026-12-01T09:00:00Z 2026-12-01T09:00:00.123+05:30 9999-12-31T23:59:59Z 250ms 5s 10m 6h 21d 36500d \
  999999999999999d 21:00-08:00 00:00-23:59 | seed fuzz-time
mkdir -p "$work/corpus/fuzz-decider"
python3 - "$work/corpus/fuzz-decider" <<'PY'
import os, random, sys
random.seed(7)
for n in range(32):
    data = bytes([random.randrange(256)] + [random.randrange(256) for _ in range(8 * random.randrange(4, 64))])
    open(os.path.join(sys.argv[1], f"seed-{n}"), "wb").write(data)
PY

status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t" "$work/crashes/$t"
  echo "fuzz: $t for ${seconds}s" >&2
  if ! "$bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$work/crashes/$t/" "$work/corpus/$t" > "$work/$t.log" 2>&1; then
    echo "fuzz: $t FAILED, input in $work/crashes/$t/" >&2
    tail -40 "$work/$t.log" >&2
    status=1
  fi
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$work/$t.log" | tail -1)
  speed=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$work/$t.log" | tail -1)
  corpus=$(ls "$work/corpus/$t" | wc -l)
  echo "fuzz: $t ${runs:-0} runs, ${speed:-0} execs/s, corpus $corpus inputs" >&2
done
exit $status
