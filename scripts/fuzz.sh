#!/usr/bin/env bash
# fuzz.sh - a longer fuzz campaign over every native fuzz target in the tree
# (every `func FuzzXxx(f *testing.F)` in a tracked or new *_test.go), one at
# a time, niced, with one fuzz worker, so the machine stays usable.
#
#   scripts/fuzz.sh [DURATION] [NAME-REGEX]
#     DURATION    per target, as go test -fuzztime takes it (default 5m)
#     NAME-REGEX  only targets whose "pkg/FuzzName" matches (grep -E)
#   FUZZ_LOG=dir  where the logs go (default $TMPDIR/nullsweep-fuzz/<UTC time>)
#
# Writes DIR/summary.tsv (package, target, seconds it ran, result, new
# corpus files) and DIR/<target>.log. A crasher is left where go test writes
# it (the package's testdata/fuzz/FuzzXxx/): commit it and add a named
# regression test. Exits non-zero when any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
DUR=${1:-5m}
FILTER=${2:-.}
LOG=${FUZZ_LOG:-${TMPDIR:-/tmp}/nullsweep-fuzz/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$LOG"
sum="$LOG/summary.tsv"
printf 'package\ttarget\tseconds\tresult\tnew_corpus\n' >"$sum"

targets() {
  git ls-files -co --exclude-standard '*_test.go' | xargs -r grep -oE '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' /dev/null |
    sed -E 's/:func (Fuzz[A-Za-z0-9_]*)\(.*/:\1/' | sort -u
}

# The interesting-input cache go test keeps per target, to count what a run added.
cachedir() { echo "$(go env GOCACHE)/fuzz/github.com/nullsweep/nullsweep/${1#./}/$2"; }
count() { find "$1" -type f 2>/dev/null | wc -l; }

# Go 1.26's coordinator can end a run with a bare "context deadline
# exceeded" at the -fuzztime boundary, writing no input (golang/go#75804):
# that is retried once and then logged as a flake, not as a finding.
run_one() { # PKG NAME LOGFILE
  nice -n 19 go test -run '^$' -fuzz "^$2\$" -fuzztime "$DUR" -parallel 1 "$1" </dev/null >"$3" 2>&1
}

failed=0
while IFS=: read -r file name; do
  pkg=./$(dirname "$file")
  echo "$pkg/$name" | grep -qE -- "$FILTER" || continue
  p=${pkg#./}; out="$LOG/${p//\//_}_$name.log"
  cache=$(cachedir "$pkg" "$name")
  before=$(count "$cache"); crash_before=$(count "$pkg/testdata/fuzz/$name")
  start=$(date +%s)
  run_one "$pkg" "$name" "$out"; rc=$?
  if [ $rc != 0 ] && grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out"; then
    mv "$out" "$out.flake1"
    run_one "$pkg" "$name" "$out"; rc=$?
  fi
  secs=$(($(date +%s) - start))
  added=$(($(count "$cache") - before))
  if [ $rc = 0 ]; then
    result=ok
  elif grep -q 'Failing input written' "$out" || [ "$(count "$pkg/testdata/fuzz/$name")" -gt "$crash_before" ]; then
    result="CRASH $(grep -m1 -oE 'testdata/fuzz/[^ ]+' "$out")"; failed=1
  elif grep -q 'context deadline exceeded' "$out"; then
    result="flake (golang/go#75804)"
  else
    result=FAIL; failed=1
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$pkg" "$name" "$secs" "$result" "$added" | tee -a "$sum"
done < <(targets)
echo "fuzz: summary in $sum"
exit $failed
