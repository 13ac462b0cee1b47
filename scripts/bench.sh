#!/usr/bin/env bash
# bench.sh - nullsweep beside the peers on the same lab victims, on
# loopback only. Prints each tool's mean wall time and the ratio to
# nullsweep's.
#
#   scripts/bench.sh [enum|rids|all]     (default all)
#
# env: RUNS (default 5), TARGETS_ENUM ("127.0.0.2 127.0.0.7"),
#      E4LNG=/path/to/enum4linux-ng.py (optional; skipped when unset),
#      RID_RANGE (default 500-5100), TARGETS_RIDS ("127.0.0.7"; add 127.0.0.10
#      for the DC, where the SAMR path and samlookuprids apply),
#      E4LNG_BULK (SIDs per rpcclient call in enum4linux-ng -R, default 1000),
#      GOBENCH=1 (also the go test benchmarks of the section)
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

# chunks SID|- HOST CMD LO HI: a script that runs rpcclient CMD over LO..HI,
# 1,000 a call (SAMR refuses more with RPC_BAD_STUB_DATA, and a longer -c
# argument hits the kernel's 128 KiB limit). SID - gives bare RIDs.
chunks() {
  local sid=$1 host=$2 cmd=$3 lo=$4 hi=$5 a b list
  echo 'set -e'
  for ((a = lo; a <= hi; a += 1000)); do
    b=$((a + 999 > hi ? hi : a + 999))
    if [ "$sid" = - ]; then list=$(seq -s ' ' "$a" "$b"); else list=$(seq -s ' ' -f "$sid-%g" "$a" "$b"); fi
    # samlookuprids exits 1 for STATUS_SOME_UNMAPPED: an answer, not a failure
    echo "rpcclient -U '' -N $host -c '$cmd $list' || [ \$? = 1 ]"
  done
}

# rids: RID cycling of RID_RANGE with nullsweep enum -R against rpcclient
# lookupsids, 1,000 SIDs a call (samlookuprids where anonymous LSA
# translation is denied, as on the DC), enum4linux-ng -R when present and
# impacket's lookupsid.py. Names found are printed under the table, so a
# fast tool that finds less is seen as such.
bench_rids() {
  local range=${RID_RANGE:-500-5100} lo hi t sid path json found rows out
  lo=${range%-*} hi=${range#*-}
  "$BIN" lab up bulk >/dev/null
  for t in ${TARGETS_RIDS:-127.0.0.7}; do
    [ "$t" = 127.0.0.10 ] && "$BIN" lab up dc >/dev/null
    echo "== RID cycling $range on $t ($RUNS runs each, after a warm-up; load $(cut -d' ' -f1-3 /proc/loadavg))"
    json="$OUT/ns_rids_$t.out.json"
    "$BIN" enum "$t" -R --no-guest --timeout 120s --rids "$range" --json >"$json"
    sid=$(jq -r '.domain.sid // empty' "$json")
    path=$(jq -r '.rid_cycling.path // "none"' "$json")
    if [ -z "$sid" ] || [ "$path" = none ]; then
      echo "  nullsweep found no path (domain SID '$sid', path $path); skipped" >&2
      continue
    fi
    found=("nullsweep ($path)" "$(jq --arg p "$sid-" '[.rids[] | select(.sid | startswith($p))] | length' "$json")")
    rows=("nullsweep enum -R ($path)" "$(mean_of "ns_rids_$t" "$BIN enum $t -R --no-guest --timeout 120s --rids $range --json")")
    if [ "$path" = samr ]; then
      chunks - "$t" "samlookuprids domain" "$lo" "$hi" >"$OUT/rpcclient_rids_$t.sh"
      found+=("rpcclient samlookuprids" "$(bash "$OUT/rpcclient_rids_$t.sh" 2>/dev/null | grep -c '^rid 0x[0-9a-f]*: .* ([1-69])$' || true)")
      rows+=("rpcclient samlookuprids (1000/call)" "$(mean_of "rpcclient_rids_$t" "bash $OUT/rpcclient_rids_$t.sh")")
    else
      chunks "$sid" "$t" lookupsids "$lo" "$hi" >"$OUT/rpcclient_rids_$t.sh"
      found+=("rpcclient lookupsids" "$(bash "$OUT/rpcclient_rids_$t.sh" 2>/dev/null | grep -c "^$sid-[0-9]* .* ([1-69])\$" || true)")
      rows+=("rpcclient lookupsids (1000/call)" "$(mean_of "rpcclient_rids_$t" "bash $OUT/rpcclient_rids_$t.sh")")
    fi
    if [ -n "${E4LNG:-}" ]; then
      rows+=("enum4linux-ng -R ${E4LNG_BULK:-1000}" "$(mean_of "e4lng_rids_$t" "$PY $E4LNG -R ${E4LNG_BULK:-1000} -r $range $t")")
    else
      echo "  (enum4linux-ng skipped: set E4LNG=/path/to/enum4linux-ng.py)" >&2
    fi
    # lookupsid.py exits 0 when it fails ("[-] ..."): time it, but give no
    # ratio for a run that found nothing.
    out="$OUT/lookupsid_$t.txt"
    $PY "$EX/lookupsid.py" -no-pass "@$t" "$hi" >"$out" 2>&1 || true
    local mean
    mean=$(mean_of "lookupsid_$t" "$PY $EX/lookupsid.py -no-pass @$t $hi")
    if grep -q '^\[-\]' "$out"; then
      found+=("impacket lookupsid.py" "fails in $(printf '%.3f' "$mean") s: $(grep -m1 '^\[-\]' "$out" | cut -c5-60)")
      mean=nan
    else
      found+=("impacket lookupsid.py" "$(grep -c 'SidType' "$out" || true)")
    fi
    rows+=("impacket lookupsid.py $hi" "$mean")
    table "${rows[@]:0:2}" "${rows[@]}"
    printf '  names found in the account domain:'
    printf ' %s: %s;' "${found[@]}"
    echo
  done
  if [ -n "${GOBENCH:-}" ]; then
    echo "== go test -bench RIDCycleBulk (500-5100 on bulk; lanes = batches in flight)"
    go test -run '^$' -bench RIDCycleBulk -benchtime "${RUNS}x" ./internal/enum | grep '^Benchmark'
  fi
}

case "${1:-all}" in
  enum) build; bench_enum ;;
  all) build; bench_enum; if declare -F bench_rids >/dev/null; then bench_rids; fi ;;
  *) if declare -F "bench_$1" >/dev/null; then build; "bench_$1"; else echo "usage: $0 [enum|rids|all]" >&2; exit 2; fi ;;
esac
echo "raw hyperfine results in $OUT"
