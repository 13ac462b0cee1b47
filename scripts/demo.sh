#!/usr/bin/env bash
# demo.sh - the whole loop: build nullsweep, start the lab's victims on
# loopback, sweep the lab's range, record the run in the history, write the
# HTML report and print its path and the worst findings, with what changed
# since the previous run (run it twice: "since the last run ...: no change").
# Stop the victims with: bin/nullsweep lab down
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
bash scripts/setup.sh
go build -o bin/nullsweep ./cmd/nullsweep
bin/nullsweep lab up
mkdir -p demo
# Exit 1 means "findings at or above --fail-on": that is the point here.
rc=0
bin/nullsweep sweep 127.0.0.0/28 -o demo/sweep.jsonl --since last --html demo/report.html || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || exit "$rc"
echo
echo "demo: open $(pwd)/demo/report.html in a browser; the run is in the history (bin/nullsweep runs)."
echo "demo: to see what closes, edit a victim's smb.conf (bin/nullsweep lab status says where; a running smbd re-reads it within a minute, smb.conf(5)) and run this again."
echo "demo: the victims keep running; stop them with: bin/nullsweep lab down"
