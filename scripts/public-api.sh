#!/usr/bin/env bash
# Declares the library's new public API: builds src/P2PNet, takes every symbol the PublicApiAnalyzers report as
# undeclared (RS0016) or gone (RS0017), and adds them to / removes them from PublicAPI.Unshipped.txt / Shipped.txt.
# Review the diff: every line is a promise to users.
set -euo pipefail
cd "$(dirname "$0")/../src/P2PNet"
log=$(mktemp)
dotnet build -c Release -p:TreatWarningsAsErrors=false -nologo -v q > "$log" 2>&1 || true
python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
add = sorted(set(re.findall(r"warning RS0016: Symbol '(.+?)' is not part of the declared public API", text)))
gone = set(re.findall(r"warning RS0017: Symbol '(.+?)' is part of the declared API", text))
for name in ("PublicAPI.Shipped.txt", "PublicAPI.Unshipped.txt"):
    lines = open(name).read().splitlines()
    kept = [l for l in lines if l not in gone]
    if name.endswith("Unshipped.txt"):
        kept = [kept[0]] + sorted(set(kept[1:]) | set(add))
    open(name, "w").write("\n".join(kept) + "\n")
print(f"public API: {len(add)} added, {len(gone)} removed")
PY
rm -f "$log"
