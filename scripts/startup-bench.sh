#!/usr/bin/env bash
# Start-to-listening time and memory of `p2pnet listen`: the Native AOT executable against the JIT build, in the
# same run. Usage: scripts/startup-bench.sh [AOT_EXECUTABLE] [ROUNDS]
#   AOT_EXECUTABLE  default artifacts/aot/p2pnet (made with: dotnet publish src/P2PNet.Cli -c Release -r linux-x64
#                   -p:PublishAot=true -o artifacts/aot); the JIT build is src/P2PNet.Cli/bin/Release/net10.0/P2PNet.Cli.dll
#                   (dotnet build -c Release).
# Prints, per build, the median over ROUNDS (default 7; the builds take turns) of the time from exec until the first "listening" address
# line on standard output, and the resident set size (VmRSS) at that moment and its peak (VmHWM).
set -euo pipefail
cd "$(dirname "$0")/.."
aot=${1:-artifacts/aot/p2pnet}
rounds=${2:-7}
jit=src/P2PNet.Cli/bin/Release/net10.0/P2PNet.Cli.dll
[ -x "$aot" ] || { echo "no AOT executable at $aot" >&2; exit 1; }
[ -f "$jit" ] || { echo "no JIT build at $jit (dotnet build -c Release)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# One start: prints "<ms> <rss KiB> <peak KiB>".
once() {
  local start end line pid rss hwm
  start=$(date +%s%N)
  coproc NODE { exec "$@" listen --listen /ip4/127.0.0.1/tcp/0 --key "$tmp/bench.key" 2>/dev/null; }
  pid=$NODE_PID
  while IFS= read -r line <&"${NODE[0]}"; do
    case "$line" in /ip4/127.0.0.1/tcp/*) break ;; esac
  done
  end=$(date +%s%N)
  rss=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status")
  hwm=$(awk '/^VmHWM/{print $2}' "/proc/$pid/status")
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "$(((end - start) / 1000000)) $rss $hwm"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Rounds alternate between the builds (jit, aot, jit, aot, …) so that a load change on a shared machine hits both.
summarize() {
  local name=$1 file=$2 ms rss hwm
  ms=$(cut -d' ' -f1 "$file" | median)
  rss=$(cut -d' ' -f2 "$file" | median)
  hwm=$(cut -d' ' -f3 "$file" | median)
  awk -v n="$name" -v ms="$ms" -v rss="$rss" -v hwm="$hwm" -v r="$rounds" -v all="$(cut -d' ' -f1 "$file" | sort -n | tr '\n' ' ')" \
    'BEGIN { printf "%-4s start-to-listening %5d ms   RSS %6.1f MiB   peak %6.1f MiB   (median of %d; ms: %s)\n", n, ms, rss / 1024, hwm / 1024, r, all }'
  echo "$ms $rss" >"$tmp/$name"
}

once dotnet "$jit" >/dev/null # warm the page cache and create the key file
once "$aot" >/dev/null
for ((i = 0; i < rounds; i++)); do
  once dotnet "$jit" >>"$tmp/jit.runs"
  once "$aot" >>"$tmp/aot.runs"
done
summarize jit "$tmp/jit.runs"
summarize aot "$tmp/aot.runs"
read -r jms jrss <"$tmp/jit"; read -r ams arss <"$tmp/aot"
awk -v a="$ams" -v j="$jms" -v ar="$arss" -v jr="$jrss" 'BEGIN { printf "aot/jit: time %.2fx, RSS %.2fx\n", a / j, ar / jr }'
