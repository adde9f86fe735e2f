#!/usr/bin/env bash
# Installs what the tests need (NuGet packages, the js-libp2p interop peers) and runs the whole suite.
# Ends with one line "N passed, N failed, N skipped" counted from the test results.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node and npm are needed for the js-libp2p interop tests" >&2; exit 1
fi
(cd interop/js && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed" >&2; exit 1; }

dotnet restore P2PNet.sln || exit 1
dotnet build P2PNet.sln -c Release --no-restore || exit 1

# Artifacts some tests run as a user would get them, made once per run: the Native AOT p2pnet (AotCliTests; needs
# clang and zlib1g-dev) and the NuGet feed of `dotnet pack` (ToolPackageTests installs the p2pnet tool from it).
# Under CI=true those tests fail rather than skip when their variable is missing.
artifacts=$(mktemp -d); trap 'rm -rf "$artifacts"' EXIT
case "$(uname -m)" in aarch64 | arm64) rid=linux-arm64 ;; *) rid=linux-x64 ;; esac
started=$SECONDS
dotnet publish src/P2PNet.Cli -c Release -r "$rid" -p:PublishAot=true -o "$artifacts/aot" || exit 1
echo "[measure] native AOT publish of p2pnet: $((SECONDS - started)) s"
export P2PNET_AOT_CLI="$artifacts/aot/p2pnet"
started=$SECONDS
dotnet pack P2PNet.sln -c Release --no-build -p:PackageOutputPath="$artifacts/feed" || exit 1
echo "[measure] dotnet pack: $((SECONDS - started)) s"
export P2PNET_PACKAGE_FEED="$artifacts/feed"

results=$(mktemp -d)
# The namespace launcher test writes its child run's TRX (netns-*.trx) here as well.
export P2PNET_TEST_RESULTS="$results"
# Every test project of the solution; one TRX file each, summed below.
dotnet test P2PNet.sln -c Release --no-build --logger trx --results-directory "$results" \
  --blame-hang-timeout 5m -- RunConfiguration.MaxCpuCount=2
status=$?

shopt -s nullglob
trx_files=("$results"/*.trx)
if ((${#trx_files[@]} == 0)); then
  echo "no test results were written" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
passed=0; failed=0; total=0; executed=0; rerun=0
for trx in "${trx_files[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  num() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(num passed))); failed=$((failed + $(num failed)))
  total=$((total + $(num total))); executed=$((executed + $(num executed)))
  # namespace-only tests are skipped in the main run and executed in the child: not skipped after all
  case "$(basename "$trx")" in netns-*) rerun=$((rerun + $(num executed)));; esac
done
if [ "$executed" -eq 0 ]; then echo "no test ran" >&2; status=1; fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # a crashed or hung run counts as a failure
skipped=$((total - executed - rerun)); ((skipped < 0)) && skipped=0
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
