#!/usr/bin/env bash
# Runs one fuzzing harness under afl++ (coverage-guided, SharpFuzz-instrumented P2PNet.dll).
#   scripts/fuzz.sh NAME [SECONDS]     e.g. scripts/fuzz.sh yamux 600      (default 600 s)
#   scripts/fuzz.sh --list
# Needs afl++ (Debian: apt-get install afl++) and the SharpFuzz.CommandLine dotnet tool (installed on first use
# into $FUZZ_OUT/tools). Work goes to $FUZZ_OUT/NAME (default /tmp/p2pnet-fuzz/NAME): the published and
# instrumented build, and afl's findings (queue, crashes, hangs, fuzzer_stats). Seeds come from fuzz/corpus/NAME.
# Crashers found belong in fuzz/corpus/NAME (named crash-*) with a fix: the replay tests run them in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

out_root=${FUZZ_OUT:-/tmp/p2pnet-fuzz}
tools="$out_root/tools"
if [ "${1:-}" = "" ] || [ "$1" = "--list" ]; then
  dotnet run --project fuzz/P2PNet.Fuzz -c Release -- --list
  exit 0
fi
name=$1
seconds=${2:-600}
[ -d "fuzz/corpus/$name" ] || { echo "no corpus fuzz/corpus/$name (scripts/fuzz.sh --list)" >&2; exit 2; }
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install afl++" >&2; exit 1; }

work="$out_root/$name"
bin="$work/bin"
mkdir -p "$work"
if [ ! -x "$tools/sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
fi

# A fresh publish each run: instrumenting twice fails, and the code may have changed since the last run.
rm -rf "$bin"
dotnet publish fuzz/P2PNet.Fuzz -c Release -o "$bin" --nologo -v quiet >/dev/null
"$tools/sharpfuzz" "$bin/P2PNet.dll" >/dev/null
[ "$name" = bootstrap-server ] && "$tools/sharpfuzz" "$bin/P2PNet.Bootstrap.dll" >/dev/null

# AFL_SKIP_BIN_CHECK: the target is the .NET apphost, not an afl-compiled binary (SharpFuzz instruments the IL).
# AFL_NO_AFFINITY: the machine is shared; do not pin a core. AFL_SKIP_CPUFREQ / AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES:
# no root needed for the CPU governor or core_pattern. AFL_NO_UI: plain log lines instead of the curses screen.
# -V: stop after SECONDS. -t: per-input timeout in ms (the harnesses' own hang limit is 10 s). -m none: the
# CLR reserves far more virtual memory than afl's default limit.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_FORKSRV_INIT_TMOUT=${AFL_FORKSRV_INIT_TMOUT:-30000}
resume=()
# Continue an earlier session of this harness (its queue) instead of starting from the seeds again.
if [ -f "$work/findings/default/fuzzer_stats" ]; then resume=(-i -); else resume=(-i "fuzz/corpus/$name"); fi
run_afl() {
  afl-fuzz "${resume[@]}" -o "$work/findings" -V "$seconds" -t "${FUZZ_TIMEOUT_MS:-20000}" -m none -- "$bin/P2PNet.Fuzz" "$name" \
    > "$work/afl.log" 2>&1
}
# Harnesses whose code runs on pool threads (yamux, live) can leave the very first dry run's map empty on a
# loaded machine, which afl reports as "No instrumentation detected": try again then.
for attempt in 1 2 3; do
  if run_afl; then break; fi
  if [ "$attempt" -lt 3 ] && grep -q "No instrumentation detected" "$work/afl.log"; then
    rm -rf "$work/findings"; resume=(-i "fuzz/corpus/$name"); continue
  fi
  tail -n 30 "$work/afl.log" >&2; exit 1
done

stats="$work/findings/default/fuzzer_stats"
get() { grep -E "^$1 " "$stats" | sed 's/.*: //'; }
crashes=$(find "$work/findings/default/crashes" -name 'id:*' 2>/dev/null | wc -l)
hangs=$(find "$work/findings/default/hangs" -name 'id:*' 2>/dev/null | wc -l)
echo "$name: $(get execs_done) execs in $(get run_time) s ($(get execs_per_sec)/s), edges $(get edges_found)/$(get total_edges), corpus $(get corpus_count), crashes $crashes, hangs $hangs"
if [ "$crashes" -gt 0 ] || [ "$hangs" -gt 0 ]; then
  # The instrumented build only runs under afl (it writes to afl's shared memory): triage with a plain build.
  echo "triage: dotnet run --project fuzz/P2PNet.Fuzz -c Release -- $name --replay $work/findings/default/crashes $work/findings/default/hangs"
fi
