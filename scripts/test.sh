#!/usr/bin/env bash
# Installs what the tests need (NuGet packages, the js-libp2p interop peers) and runs the whole suite.
# Ends with one line "N passed, N failed" counted from the test results.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node and npm are needed for the js-libp2p interop tests" >&2; exit 1
fi
(cd interop/js && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed" >&2; exit 1; }

dotnet restore P2PNet.sln || exit 1
dotnet build P2PNet.sln -c Release --no-restore || exit 1

results=$(mktemp -d)
dotnet test tests/P2PNet.Tests -c Release --no-build --logger "trx;LogFileName=results.trx" --results-directory "$results" \
  --blame-hang-timeout 5m -- RunConfiguration.MaxCpuCount=2
status=$?

trx="$results/results.trx"
if [ -f "$trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  num() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$(num passed); failed=$(num failed); total=$(num total); executed=$(num executed)
  skipped=$(( ${total:-0} - ${executed:-0} ))
  echo "${passed:-0} passed, ${failed:-0} failed, ${skipped} skipped"
  if [ "${executed:-0}" -eq 0 ]; then echo "no test ran" >&2; exit 1; fi
else
  echo "0 passed, 1 failed"
  echo "no test results were written" >&2
  exit 1
fi
exit $status
