#!/usr/bin/env bash
# bench.sh - nullsweep beside the peers on the same lab victims, on
# loopback only. Prints, per tool, the mean wall time, the server CPU time
# the run caused (the floor: no client can be faster than the server's own
# work), the ratio wall / server CPU, the client's own CPU time, and the
# ratio of its wall time to nullsweep's.
#
#   scripts/bench.sh [enum|rids|sweep|all]     (default all; sweep is not in all)
#
# Server CPU is utime+stime+cutime+cstime (proc(5) /proc/PID/stat fields
# 14-17) summed over the posture's Samba processes: those whose command
# line names the posture's directory under the lab dir (smbd, samba-dcerpcd
# and its rpcd_* workers, which samba-dcerpcd re-parents to init, winbindd)
# and every descendant of the pids `nullsweep lab status` lists (the AD
# DC's samba processes rename themselves). cutime/cstime hold the
# per-connection children that exited and were reaped; read after RUNS
# further runs of the tool, divided by RUNS. Resolution is a clock tick
# (10 ms) per RUNS runs; CPU of a process that exits un-reaped by the set
# (an idle samba-dcerpcd) is lost, so the figure is a lower bound.
#
# env: RUNS (default 20), SLOW_RUNS (default 3; for the peers that take
#      seconds a run), TARGETS_ENUM ("127.0.0.2 127.0.0.7"),
#      E4LNG=/path/to/enum4linux-ng.py (optional; skipped when unset),
#      RID_RANGE (default 500-5100), TARGETS_RIDS ("127.0.0.7"; add 127.0.0.10
#      for the DC, where the SAMR path and samlookuprids apply),
#      E4LNG_BULK (SIDs per rpcclient call in enum4linux-ng -R, default 1000),
#      GOBENCH=1 (also the go test benchmarks of the section)
# Needs the lab postures up (the script starts open and bulk with
# `nullsweep lab up`) and hyperfine (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
SLOW_RUNS=${SLOW_RUNS:-3} # runs of the peers that take seconds (samrdump, nmap, enum4linux-ng, lookupsid.py)
PY=/usr/bin/python3
HZ=$(getconf CLK_TCK)
LABDIR=${NULLSWEEP_LAB_DIR:-${TMPDIR:-/tmp}/nullsweep-lab}
EX=/usr/share/doc/python3-impacket/examples
BIN=bin/nullsweep
OUT=${BENCH_OUT:-$(mktemp -d)}

build() {
  go build -o "$BIN" ./cmd/nullsweep
  "$BIN" lab up open bulk >/dev/null
}

# server_ticks HOST: CPU clock ticks used so far by the lab's Samba
# processes serving HOST (see the header).
server_ticks() {
  local host=$1 posture roots
  posture=$("$BIN" lab status | awk -v a="$host" '$2 == a {print $1}')
  roots=$("$BIN" lab status | awk -v a="$host" '$2 == a {for (i = 4; i <= NF; i++) {sub(/.*=/, "", $i); print $i}}')
  $PY - "$LABDIR/$posture/" $roots <<'PYEOF'
import os, sys
mark, roots = sys.argv[1].encode(), set(int(p) for p in sys.argv[2:])
procs = {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        stat = open(f"/proc/{d}/stat", "rb").read()
        cmd = open(f"/proc/{d}/cmdline", "rb").read()
    except OSError:
        continue
    f = stat[stat.rindex(b")") + 2:].split()
    # f[0] is field 3 (state); utime, stime, cutime, cstime are fields 14-17.
    procs[int(d)] = (int(f[1]), sum(int(x) for x in f[11:15]), mark in cmd)
def ours(pid, seen=0):
    while pid in procs and seen < 64:
        if pid in roots or procs[pid][2]:
            return True
        pid, seen = procs[pid][0], seen + 1
    return False
print(sum(t for pid, (_, t, _) in procs.items() if ours(pid)))
PYEOF
}

# measure_tool NAME HOST CMD: "wall server client" in seconds: hyperfine's mean
# wall time and mean client CPU (user+system) of CMD after one warm-up run
# (smbd starts its RPC helpers on first use), then the server CPU per run
# over RUNS more runs.
measure_tool() {
  local name=$1 host=$2 cmd=$3 json="$OUT/$1.json" t0 t1 i runs=${MRUNS:-$RUNS}
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$json" -- "$cmd" >/dev/null 2>&1 || {
    echo "$name: failed ($cmd)" >&2; echo "nan nan nan"; return; }
  t0=$(server_ticks "$host")
  for ((i = 0; i < runs; i++)); do bash -c "$cmd" >/dev/null 2>&1 || true; done
  sleep 0.2 # the server reaps the per-connection children
  t1=$(server_ticks "$host")
  $PY -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["mean"], (int(sys.argv[2])-int(sys.argv[3]))/int(sys.argv[4])/int(sys.argv[5]), r["user"]+r["system"])' \
    "$json" "$t1" "$t0" "$HZ" "$runs"
}

# table [NAME "WALL SERVER CLIENT"]...: each tool's times, wall/server CPU,
# the rest of the wall time (neither side's CPU: waiting, for the network,
# for a CPU on a busy machine, or for the other side; negative when the
# two sides' work overlaps), and the ratio of its wall time to the first
# row's.
table() {
  local base=${2%% *}
  printf '  %-36s %8s %10s %11s %10s %10s %8s\n' tool "wall ms" "server ms" "wall/server" "client ms" "other ms" "x slower"
  while (($#)); do
    awk -v n="$1" -v m="$2" -v b="$base" 'BEGIN {
      split(m, v, " ");
      if (v[1] == "nan") printf "  %-36s %8s\n", n, "failed";
      else printf "  %-36s %8.1f %10.1f %11s %10.1f %10.1f %8.2f\n", n, v[1]*1000, v[2]*1000,
        (v[2] > 0 ? sprintf("%.2f", v[1]/v[2]) : "-"), v[3]*1000, (v[1]-v[2]-v[3])*1000, v[1]/b }'
    shift 2
  done
}

# load: the machine's load, said with every section (benchmarks on a
# shared machine are only comparable within one run).
load() { echo "load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"; }

# enum: the checks of -U -S -P -G -L over one session, against a full
# rpcclient enumeration, impacket's samrdump, nmap's smb-enum scripts and
# enum4linux-ng when present.
bench_enum() {
  local t rows
  for t in ${TARGETS_ENUM:-127.0.0.2 127.0.0.7}; do
    [ "$t" = 127.0.0.10 ] && "$BIN" lab up dc >/dev/null
    echo "== enum -U -S -P -G -L on $t ($RUNS runs each, after a warm-up; $(load))"
    rows=(nullsweep "$(measure_tool "ns_enum_$t" "$t" "$BIN enum $t -U -S -P -G -L --no-guest --json")")
    rows+=("rpcclient (12 commands, 1 process)" "$(measure_tool "rpcclient_$t" "$t" "rpcclient -U '' -N $t -c 'srvinfo;lsaquery;lsaquery 5;enumdomusers;querydispinfo;enumdomgroups;enumalsgroups builtin;enumalsgroups domain;querydominfo;getdompwinfo;enumtrust;netshareenumall'")")
    rows+=("impacket samrdump" "$(MRUNS=$SLOW_RUNS measure_tool "samrdump_$t" "$t" "$PY $EX/samrdump.py -no-pass @$t")")
    if command -v nmap >/dev/null; then
      rows+=("nmap smb-enum-*" "$(MRUNS=$SLOW_RUNS measure_tool "nmap_$t" "$t" "nmap -Pn -n -p445 --script smb-enum-users,smb-enum-shares,smb-enum-domains,smb-os-discovery $t")")
    fi
    if [ -n "${E4LNG:-}" ]; then
      rows+=("enum4linux-ng -U -S -P -G" "$(MRUNS=$SLOW_RUNS measure_tool "e4lng_$t" "$t" "$PY $E4LNG -U -S -P -G $t")")
    fi
    table "${rows[@]}"
  done
  if [ -n "${GOBENCH:-}" ]; then
    echo "== go test -bench 'Enum(Open|Bulk)' (-U -S -P -G -L in process; $(load))"
    go test -run '^$' -bench 'BenchmarkEnum(Open|Bulk)$' -benchtime "${RUNS}x" ./internal/enum | grep '^Benchmark'
  fi
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
# lookupsids, 1,000 SIDs a call (samlookuprids where rpcclient's lookupsids
# is denied: it asks for POLICY_LOOKUP_NAMES, which the DC refuses to a
# null session), enum4linux-ng -R when present and
# impacket's lookupsid.py. Names found are printed under the table, so a
# fast tool that finds less is seen as such.
bench_rids() {
  local range=${RID_RANGE:-500-5100} lo hi t sid path json found rows out probe
  lo=${range%-*} hi=${range#*-}
  "$BIN" lab up bulk >/dev/null
  for t in ${TARGETS_RIDS:-127.0.0.7}; do
    [ "$t" = 127.0.0.10 ] && "$BIN" lab up dc >/dev/null
    echo "== RID cycling $range on $t ($RUNS runs each, after a warm-up; $(load))"
    json="$OUT/ns_rids_$t.out.json"
    "$BIN" enum "$t" -R --no-guest --timeout 120s --rids "$range" --json >"$json"
    sid=$(jq -r '.domain.sid // empty' "$json")
    path=$(jq -r '.rid_cycling.path // "none"' "$json")
    if [ -z "$sid" ] || [ "$path" = none ]; then
      echo "  nullsweep found no path (domain SID '$sid', path $path); skipped" >&2
      continue
    fi
    found=("nullsweep ($path)" "$(jq --arg p "$sid-" '[.rids[] | select(.sid | startswith($p))] | length' "$json")")
    rows=("nullsweep enum -R ($path)" "$(measure_tool "ns_rids_$t" "$t" "$BIN enum $t -R --no-guest --timeout 120s --rids $range --json")")
    probe=$(rpcclient -U '' -N "$t" -c "lookupsids $sid-500" 2>&1 || true)
    if [ "$path" = samr ] || [[ $probe == *ACCESS_DENIED* ]]; then
      chunks - "$t" "samlookuprids domain" "$lo" "$hi" >"$OUT/rpcclient_rids_$t.sh"
      found+=("rpcclient samlookuprids" "$(bash "$OUT/rpcclient_rids_$t.sh" 2>/dev/null | grep -c '^rid 0x[0-9a-f]*: .* ([1-69])$' || true)")
      rows+=("rpcclient samlookuprids (1000/call)" "$(measure_tool "rpcclient_rids_$t" "$t" "bash $OUT/rpcclient_rids_$t.sh")")
    else
      chunks "$sid" "$t" lookupsids "$lo" "$hi" >"$OUT/rpcclient_rids_$t.sh"
      found+=("rpcclient lookupsids" "$(bash "$OUT/rpcclient_rids_$t.sh" 2>/dev/null | grep -c "^$sid-[0-9]* .* ([1-69])\$" || true)")
      rows+=("rpcclient lookupsids (1000/call)" "$(measure_tool "rpcclient_rids_$t" "$t" "bash $OUT/rpcclient_rids_$t.sh")")
    fi
    if [ -n "${E4LNG:-}" ]; then
      rows+=("enum4linux-ng -R ${E4LNG_BULK:-1000}" "$(MRUNS=$SLOW_RUNS measure_tool "e4lng_rids_$t" "$t" "$PY $E4LNG -R ${E4LNG_BULK:-1000} -r $range $t")")
    else
      echo "  (enum4linux-ng skipped: set E4LNG=/path/to/enum4linux-ng.py)" >&2
    fi
    # lookupsid.py exits 0 when it fails ("[-] ..."): time it, but give no
    # ratio for a run that found nothing.
    out="$OUT/lookupsid_$t.txt"
    $PY "$EX/lookupsid.py" -no-pass "@$t" "$hi" >"$out" 2>&1 || true
    local mean
    mean=$(MRUNS=$SLOW_RUNS measure_tool "lookupsid_$t" "$t" "$PY $EX/lookupsid.py -no-pass @$t $hi")
    if grep -q '^\[-\]' "$out"; then
      found+=("impacket lookupsid.py" "fails in $(printf '%.3f' "${mean%% *}") s: $(grep -m1 '^\[-\]' "$out" | cut -c5-60)")
      mean="nan nan nan"
    else
      found+=("impacket lookupsid.py" "$(grep -c 'SidType' "$out" || true)")
    fi
    rows+=("impacket lookupsid.py $hi" "$mean")
    table "${rows[@]}"
    printf '  names found in the account domain:'
    printf ' %s: %s;' "${found[@]}"
    echo
  done
  if [ -n "${GOBENCH:-}" ]; then
    echo "== go test -bench RIDCycleBulk (500-5100 on bulk; lanes = batches in flight; $(load))"
    go test -run '^$' -bench RIDCycleBulk -benchtime "${RUNS}x" ./internal/enum | grep '^Benchmark'
  fi
}

# measure CMD...: one run's wall seconds, peak RSS in MiB (the child's
# ru_maxrss) and exit status.
measure() {
  $PY - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
el = time.monotonic() - t
print(f"{el:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.1f} {r.returncode}")
PY
}

# row NAME CMD...: NAME's wall time and peak RSS, side by side.
row() {
  local name=$1 m; shift
  m=$(measure "$@")
  printf '  %-46s %8s %9s %5s\n' "$name" $m
}

# sweep: a /16 of closed loopback addresses, nullsweep's connect scan
# beside nmap's, one run each (not a timed test: the numbers depend on
# the machine and its load, printed with them); the lab's /27 against
# each posture examined alone; peak RSS at -c 256 against 64 servers that
# stream endless DCE/RPC fragments (cmd/nullsweep TestSweepMemoryBound).
# Run it in a network namespace of its own: the /16 must be empty space.
bench_sweep() {
  local net=${SWEEP_NET:-127.5.0.0/16} p slow=0 slowa=0 m t
  echo "== connect scan of TCP 445 over $net, all closed (load $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores)"
  printf '  %-46s %8s %9s %5s\n' tool "wall s" "peak MiB" exit
  # A closed 445 costs nullsweep a second connect (139, for hosts without
  # 445): the like-for-like rows are --port 445 beside -p445 and the
  # default beside -p139,445.
  row "nmap -sT -Pn -n -p445" nmap -sT -Pn -n -p445 "$net" -oN /dev/null
  row "nullsweep sweep --rate 0 --port 445" "$BIN" sweep "$net" --rate 0 --port 445 --no-store -o /dev/null
  row "nmap -sT -Pn -n -p139,445" nmap -sT -Pn -n -p139,445 "$net" -oN /dev/null
  row "nullsweep sweep --rate 0 (445, then 139)" "$BIN" sweep "$net" --rate 0 --no-store -o /dev/null
  row "nullsweep sweep (default --rate 2000)" "$BIN" sweep "$net" --no-store -o /dev/null
  "$BIN" lab up >/dev/null
  echo "== the lab's /27 (every posture but bulk) against each posture alone (load $(cut -d' ' -f1-3 /proc/loadavg))"
  printf '  %-46s %8s %9s %5s\n' tool "wall s" "peak MiB" exit
  for p in 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.10; do
    m=$(measure "$BIN" enum "$p" --timeout 60s --json)
    printf '  %-46s %8s %9s %5s\n' "nullsweep enum $p (all checks)" $m
    t=${m%% *}; slow=$(awk -v a="$slow" -v b="$t" 'BEGIN { print (b > a ? b : a) }')
    m=$(measure "$BIN" audit "$p" --timeout 60s --no-store --json)
    printf '  %-46s %8s %9s %5s\n' "nullsweep audit $p" $m
    t=${m%% *}; slowa=$(awk -v a="$slowa" -v b="$t" 'BEGIN { print (b > a ? b : a) }')
  done
  m=$(measure "$BIN" sweep 127.0.0.0/27 -R --no-store -o /dev/null)
  printf '  %-46s %8s %9s %5s\n' "nullsweep sweep -R 127.0.0.0/27 (= audit)" $m
  awk -v s="${m%% *}" -v e="$slow" -v a="$slowa" 'BEGIN {
    printf "  sweep / slowest enum alone: %.2f (goal <= 1.20); sweep / slowest audit alone: %.2f\n", s / e, s / a }'
  row "nullsweep sweep 127.0.0.0/27 (default: no -R)" "$BIN" sweep 127.0.0.0/27 --no-store -o /dev/null
  echo "== memory: sweep -c 256 against 64 endless-fragment servers"
  NULLSWEEP_SWEEP_MEM_HOSTS=64 go test -count=1 -run '^TestSweepMemoryBound$' -v ./cmd/nullsweep 2>&1 |
    grep -E 'peak RSS|^(--- |ok|FAIL)' | sed 's/^ */  /'
}

# hrow NAME CMD...: one run's wall seconds, CPU seconds (user+system) and
# peak RSS in MiB.
hrow() {
  local name=$1; shift
  $PY - "$name" "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
el = time.monotonic() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"  {sys.argv[1]:<40} {el:8.3f} {ru.ru_utime + ru.ru_stime:8.3f} {ru.ru_maxrss / 1024:9.1f}")
PY
}

# history: what recording a run costs a sweep (a /16 of closed loopback
# addresses with --no-store and with a fresh database, alternating), and a
# report of 10,000 hosts (the lab's examined hosts repeated under 10.x
# addresses, imported with merge): time, CPU, peak RSS and file size.
# Goals (issue): storing adds < 10% to the sweep; the report is written in
# < 2 s and is < 10 MB. Run it in a network namespace of its own.
bench_history() {
  local net=${HISTORY_NET:-127.6.0.0/16} d i
  d=$(mktemp -d)
  echo "== a /16 sweep of closed addresses ($net), with and without the history ($RUNS runs each, alternating; $(load))"
  printf '  %-40s %8s %8s %9s\n' run "wall s" "cpu s" "peak MiB"
  for ((i = 0; i < RUNS; i++)); do
    hrow "sweep --no-store" "$BIN" sweep "$net" --rate 0 --no-store -o /dev/null
    rm -f "$d"/s.db*
    hrow "sweep --db (65,536 targets recorded)" "$BIN" sweep "$net" --rate 0 --db "$d/s.db" -o /dev/null
  done | tee "$d/store.txt"
  awk '{ n = ($2 == "--no-store") ? "off" : "on"; w[n] += $(NF-2); c[n] += $(NF-1); k[n]++ }
    END { printf "  mean wall: %.3f s without, %.3f s with the history: %+.1f%% (goal < +10%%); CPU %+.1f%%\n",
      w["off"]/k["off"], w["on"]/k["on"], 100*(w["on"]/k["on"]/(w["off"]/k["off"])-1), 100*(c["on"]/k["on"]/(c["off"]/k["off"])-1) }' "$d/store.txt"
  echo "== a report of 10,000 hosts ($(load))"
  "$BIN" lab up >/dev/null
  "$BIN" sweep 127.0.0.0/28 --no-store -o "$d/lab.jsonl" >/dev/null 2>&1 || true
  $PY - "$d/lab.jsonl" 10000 "$d/10k.jsonl" <<'PY'
import json, sys
src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
hosts = [r for r in map(json.loads, open(src)) if r["kind"] == "host" and r.get("result")]
with open(out, "w") as f:
    for i in range(n):
        r = dict(hosts[i % len(hosts)])
        r.update(target="198.%d.%d.%d" % (18 + (i >> 16 & 1), i >> 8 & 255, i & 255), index=i, run_id="bench", plan_id="bench", shard="1/1")
        f.write(json.dumps(r) + "\n")
    f.write(json.dumps(dict(schema="nullsweep-sweep/1", kind="summary", run_id="bench", plan_id="bench", shard="1/1",
                            time=hosts[0]["time"], targets=n, done=n, complete=True, counts={}, findings={}, started=hosts[0]["time"])) + "\n")
PY
  printf '  %-40s %8s %8s %9s\n' run "wall s" "cpu s" "peak MiB"
  hrow "merge (10,000 examined hosts)" "$BIN" merge --db "$d/10k.db" "$d/10k.jsonl"
  for ((i = 0; i < RUNS; i++)); do
    hrow "report --html (10,000 hosts)" "$BIN" report --db "$d/10k.db" --html "$d/10k.html"
  done
  echo "  report size: $(stat -c %s "$d/10k.html" | awk '{ printf "%.2f MB", $1 / 1e6 }') (goal < 10 MB); database $(du -m "$d/10k.db" | cut -f1) MiB"
  rm -rf "$d"
}

case "${1:-all}" in
  enum) build; bench_enum ;;
  all) build; bench_enum; if declare -F bench_rids >/dev/null; then bench_rids; fi ;;
  *) if declare -F "bench_$1" >/dev/null; then build; "bench_$1"; else echo "usage: $0 [enum|rids|sweep|history|all]" >&2; exit 2; fi ;;
esac
echo "raw hyperfine results in $OUT"
