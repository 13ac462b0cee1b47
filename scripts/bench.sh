#!/usr/bin/env bash
# bench.sh - nullsweep beside the peers on the same lab victims, on
# loopback only. Prints each tool's mean wall time and the ratio to
# nullsweep's.
#
#   scripts/bench.sh [enum|rids|all]     (default all)
#
# env: RUNS (default 5), TARGETS_ENUM ("127.0.0.2 127.0.0.7"),
#      E4LNG=/path/to/enum4linux-ng.py (optional; skipped when unset)
# Needs the lab postures up (the script starts open and bulk with
# `nullsweep lab up`) and hyperfine (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
PY=/usr/bin/python3
EX=/usr/share/doc/python3-impacket/examples
BIN=bin/nullsweep
OUT=${BENCH_OUT:-$(mktemp -d)}

build() {
  go build -o "$BIN" ./cmd/nullsweep
  "$BIN" lab up open bulk >/dev/null
}

# mean_of NAME CMD: hyperfine's mean seconds of CMD (after one warm-up run:
# smbd starts its RPC helpers on first use).
mean_of() {
  local name=$1 cmd=$2 json="$OUT/$1.json"
  hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$json" -- "$cmd" >/dev/null 2>&1 || {
    echo "$name: failed ($cmd)" >&2; echo "nan"; return; }
  $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["mean"])' "$json"
}

# table BASE_NAME BASE_MEAN [NAME MEAN]...: each tool's time and its ratio
# to the first.
table() {
  local base=$2; shift 2
  printf '  %-34s %9s %9s\n' tool "mean s" "x slower"
  while (($#)); do
    awk -v n="$1" -v m="$2" -v b="$base" 'BEGIN {
      if (m == "nan") printf "  %-34s %9s %9s\n", n, "failed", "-";
      else printf "  %-34s %9.3f %9.1f\n", n, m, m / b }'
    shift 2
  done
}

# enum: the checks of -U -S -P -G -L over one session, against a full
# rpcclient enumeration, impacket's samrdump, nmap's smb-enum scripts and
# enum4linux-ng when present.
bench_enum() {
  local t rows
  for t in ${TARGETS_ENUM:-127.0.0.2 127.0.0.7}; do
    echo "== enum -U -S -P -G -L on $t ($RUNS runs each, after a warm-up)"
    rows=(nullsweep "$(mean_of "ns_enum_$t" "$BIN enum $t -U -S -P -G -L --no-guest --json")")
    rows+=("rpcclient (12 commands, 1 process)" "$(mean_of "rpcclient_$t" "rpcclient -U '' -N $t -c 'srvinfo;lsaquery;lsaquery 5;enumdomusers;querydispinfo;enumdomgroups;enumalsgroups builtin;enumalsgroups domain;querydominfo;getdompwinfo;enumtrust;netshareenumall'")")
    rows+=("impacket samrdump" "$(mean_of "samrdump_$t" "$PY $EX/samrdump.py -no-pass @$t")")
    if command -v nmap >/dev/null; then
      rows+=("nmap smb-enum-*" "$(mean_of "nmap_$t" "nmap -Pn -n -p445 --script smb-enum-users,smb-enum-shares,smb-enum-domains,smb-os-discovery $t")")
    fi
    if [ -n "${E4LNG:-}" ]; then
      rows+=("enum4linux-ng -U -S -P -G" "$(mean_of "e4lng_$t" "$PY $E4LNG -U -S -P -G $t")")
    fi
    table "${rows[@]:0:2}" "${rows[@]}"
  done
}

case "${1:-all}" in
  enum) build; bench_enum ;;
  all) build; bench_enum; if declare -F bench_rids >/dev/null; then bench_rids; fi ;;
  *) if declare -F "bench_$1" >/dev/null; then build; "bench_$1"; else echo "usage: $0 [enum|rids|all]" >&2; exit 2; fi ;;
esac
echo "raw hyperfine results in $OUT"
