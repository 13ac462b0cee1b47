#!/usr/bin/env bash
# demo.sh - build nullsweep, start the "open" lab victim on 127.0.0.2 and
# enumerate it over a null session. Stop the victim with: bin/nullsweep lab down
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
bash scripts/setup.sh
go build -o bin/nullsweep ./cmd/nullsweep
bin/nullsweep lab up open
bin/nullsweep enum 127.0.0.2
echo
echo "demo: the victim keeps running; stop it with: bin/nullsweep lab down"
