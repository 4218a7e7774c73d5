#!/usr/bin/env bash
# somna study: the workflow through the CLI, and kill -9 in the middle of an
# import (nothing committed before is lost, nothing of the killed import stays).
. "$(dirname "$0")/lib.sh"
SRC=${SOMNA_SOURCE_DIR:-.}
DB="$TMP/s.db"

cat >"$TMP/study.txt" <<'T'
name = Nap crossover
design = crossover
seed = 2025
psqi_min = 5
condition = control | No massage | control | 0
condition = relax | Relaxation massage | swedish | 30 | light | whole body
outcomes = SOL
T
printf 'participant,age,sex,psqi,contraindications\nP1,30,F,8,\nP2,41,M,7,none\nP3,25,F,4,\nP4,37,M,9,fever\nP5,29,F,11,\n' >"$TMP/screen.csv"

expect_exit 1 "$SOMNA" study
expect_exit 0 "$SOMNA" study --help
expect_grep "Usage: somna study" "$TMP/out"
expect_exit 0 "$SOMNA" study init --db "$DB" "$TMP/study.txt"
[ "$(stat -c %a "$DB")" = 600 ] || fail "database mode is $(stat -c %a "$DB"), expected 600"
expect_exit 2 "$SOMNA" study init --db "$DB" "$TMP/study.txt"
expect_grep "already exists" "$TMP/err"
expect_exit 0 "$SOMNA" study enrol --db "$DB" --csv "$TMP/screen.csv"
expect_grep "5 screened, 3 enrolled, 2 excluded" "$TMP/out"
expect_exit 0 "$SOMNA" study randomize --db "$DB"
# Williams square for 2 conditions: sequences control,relax and relax,control
[ "$(grep -c 'control,relax\|relax,control' "$TMP/out")" = 3 ] || fail "sequences: $(cat "$TMP/out")"
cp "$TMP/out" "$TMP/alloc1"
# same seed, new database: same allocation
expect_exit 0 "$SOMNA" study init --db "$TMP/s2.db" "$TMP/study.txt"
expect_exit 0 "$SOMNA" study enrol --db "$TMP/s2.db" --csv "$TMP/screen.csv"
expect_exit 0 "$SOMNA" study randomize --db "$TMP/s2.db"
diff <(cut -d, -f1-7 "$TMP/alloc1") <(cut -d, -f1-7 "$TMP/out") >/dev/null || fail "allocation not reproducible"

printf 'participant,condition,period,measure,value\nP1,control,1,SOL,10\nP1,relax,2,SOL,8\nP2,relax,1,SOL,11\nP2,control,2,SOL,12\nP5,control,1,SOL,9\nP5,relax,2,SOL,6\n' >"$TMP/a.csv"
expect_exit 0 "$SOMNA" study import --db "$DB" measures "$TMP/a.csv"
expect_grep "6 records written" "$TMP/out"
# bad row: clear message with file:line, nothing written
printf 'participant,condition,period,measure,value\nP1,control,1,TST,400\nP2,control,1,TST,abc\n' >"$TMP/bad.csv"
expect_exit 2 "$SOMNA" study import --db "$DB" measures "$TMP/bad.csv"
expect_grep "bad.csv:3" "$TMP/err"
expect_exit 0 "$SOMNA" study export --db "$DB" --table outcomes
[ "$(grep -c ',SOL,' "$TMP/out")" = 6 ] || fail "outcomes after failed import: $(cat "$TMP/out")"
grep -q ',TST,' "$TMP/out" && fail "rows of the failed import remained"

# ---- kill -9 in the middle of an import -------------------------------------------------------------
{
  echo "participant,condition,period,measure,value"
  for i in $(seq 1 300); do echo "P1,control,1,X$i,$i"; done
} >"$TMP/big.csv"
SOMNA_TEST_IMPORT_DELAY_MS=20 "$SOMNA" study import --db "$DB" measures "$TMP/big.csv" >/dev/null 2>&1 &
pid=$!
# wait until the import's transaction has written (SQLite's rollback journal exists)
for _ in $(seq 1 200); do [ -e "$DB-journal" ] && break; sleep 0.05; done
[ -e "$DB-journal" ] || fail "import never started writing"
sleep 0.5
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -e "$DB-journal" ] || fail "import finished before the kill (test did not interrupt it)"
expect_exit 0 "$SOMNA" study status --db "$DB" --json
expect_grep '"imports": 1' "$TMP/out"
expect_grep '"measures": 6' "$TMP/out"
expect_exit 0 "$SOMNA" study export --db "$DB" --table outcomes
[ "$(grep -c ',SOL,' "$TMP/out")" = 6 ] || fail "committed rows lost after kill -9"
grep -q ',X[0-9]' "$TMP/out" && fail "partial import visible after kill -9"
# the killed import can simply be run again
expect_exit 0 "$SOMNA" study import --db "$DB" measures "$TMP/big.csv"
expect_grep "300 records written" "$TMP/out"
# (the killed transaction's journal is rolled back or discarded by the next writer)
[ -e "$DB-journal" ] && fail "journal of the killed import still present after the next import"

# ---- analysis ---------------------------------------------------------------------------------------
expect_exit 0 "$SOMNA" study analyze --db "$DB" --json
# R: t.test(c(8,11,6), c(10,12,9), paired = TRUE) -> t = -2 / (1 / sqrt(3)) = -3.46410161513775, p = 0.0741799002274485
python3 - "$TMP/out" <<'PY' || fail "analysis numbers"
import json, sys
a = json.load(open(sys.argv[1]))
e = [x for x in a["effects"] if x["measure"] == "SOL"][0]
assert abs(e["statistic"] - (-3.46410161513775)) < 1e-9, e
assert abs(e["p"] - 0.0741799002274485) < 1e-9, e
assert a["flow"] == {"screened": 5, "eligible": 3, "randomized": 3, "analysed": 3}, a["flow"]
PY
expect_exit 0 "$SOMNA" study analyze --db "$DB" --subset drifted_off=1
expect_exit 1 "$SOMNA" study import --db "$DB" nonsense "$TMP/a.csv"
expect_exit 2 "$SOMNA" study analyze --db "$TMP/nothere/x.db"
# ---- bad input: one clear message, exit 2, nothing changed --------------------------------------------
printf 'name = x\ndesign = crossover\nseed = 1\ncondition = a | A | reiki\n' >"$TMP/bad.txt"
expect_exit 2 "$SOMNA" study init --db "$TMP/b.db" "$TMP/bad.txt"
expect_grep "bad.txt:4: massage type 'reiki' unknown" "$TMP/err"
cp "$TMP/a.csv" "$TMP/notadb.db"
expect_exit 2 "$SOMNA" study status --db "$TMP/notadb.db"
expect_grep "not a database" "$TMP/err"
cmp -s "$TMP/a.csv" "$TMP/notadb.db" || fail "a file that is not a database was modified"
expect_exit 2 "$SOMNA" study import --db "$DB" measures "$TMP/missing.csv"
expect_grep "missing.csv: cannot open" "$TMP/err"
printf 'participant,condition,period,measure\nP1,control,1,SOL\n' >"$TMP/nocol.csv"
expect_exit 2 "$SOMNA" study import --db "$DB" measures "$TMP/nocol.csv"
expect_grep "nocol.csv: no column 'value'" "$TMP/err"
expect_exit 1 "$SOMNA" study enrol --db "$DB"
expect_exit 0 "$SOMNA" study report --db "$DB" -o "$TMP/r.md" --format md
expect_grep "^| SOL | relax |" "$TMP/r.md"
# ---- time since the session ended: session end (start clock + minutes) -> lights off -------------------
printf 'participant,condition,period,massage_start,minutes,drifted_off\nP5,relax,2,21:10,30,yes\n' >"$TMP/ses.csv"
printf 'W\nW\nN1\nN2\n' >"$TMP/h.txt"
printf 'participant,condition,period,lights_off,hypnogram\nP5,relax,2,22:40,h.txt\n' >"$TMP/man.csv"
expect_exit 0 "$SOMNA" study import --db "$DB" sessions "$TMP/ses.csv"
expect_exit 0 "$SOMNA" study import --db "$DB" manifest "$TMP/man.csv"
expect_exit 0 "$SOMNA" study export --db "$DB" --table nights
# session 21:10 + 30 min ends 21:40; lights off 22:40 -> 1 hour
expect_grep "^P5,relax,2,night,period 2,2,NA,22:40,NA,1$" "$TMP/out"
# ---- two importers at once: SQLite serialises them (BEGIN IMMEDIATE + busy timeout), both succeed -------
{ echo "participant,condition,period,measure,value"; for i in $(seq 1 100); do echo "P2,control,2,Y$i,$i"; done; } >"$TMP/c1.csv"
{ echo "participant,condition,period,measure,value"; for i in $(seq 1 100); do echo "P5,control,1,Z$i,$i"; done; } >"$TMP/c2.csv"
SOMNA_TEST_IMPORT_DELAY_MS=5 "$SOMNA" study import --db "$DB" measures "$TMP/c1.csv" >"$TMP/c1.out" 2>&1 &
p1=$!
SOMNA_TEST_IMPORT_DELAY_MS=5 "$SOMNA" study import --db "$DB" measures "$TMP/c2.csv" >"$TMP/c2.out" 2>&1 &
p2=$!
wait $p1 || fail "first concurrent import failed: $(cat "$TMP/c1.out")"
wait $p2 || fail "second concurrent import failed: $(cat "$TMP/c2.out")"
expect_exit 0 "$SOMNA" study export --db "$DB" --table outcomes
[ "$(grep -c ',[YZ][0-9]*,' "$TMP/out")" = 200 ] || fail "concurrent imports: $(grep -c ',[YZ][0-9]*,' "$TMP/out") of 200 rows"
# ---- sleep diary (Consensus Sleep Diary) scored into per-night measures -------------------------------
printf 'participant,date,csd_bedtime,csd_try,csd_sol,csd_nwak,csd_waso,csd_final_wake,csd_out_of_bed\nP5,2026-03-01,23:00,23:15,20,2,30,06:30,07:00\n' >"$TMP/diary.csv"
expect_exit 0 "$SOMNA" study import --db "$DB" diary "$TMP/diary.csv"
expect_exit 0 "$SOMNA" study export --db "$DB" --table outcomes
# by hand: TIB 23:00 -> 07:00 = 480; TST = (06:30 - 23:15) - 20 - 30 = 385; SE = 385 / 480
expect_grep ",2026-03-01,NA,diary_tib_min,diary,480," "$TMP/out"
expect_grep ",2026-03-01,NA,diary_tst_min,diary,385," "$TMP/out"
expect_grep ",2026-03-01,NA,diary_se_pct,diary,80.2083333333333" "$TMP/out"
# ---- several studies in one database: --study chooses --------------------------------------------------
expect_exit 2 "$SOMNA" study status --db "$TMP/typo.db"
expect_grep "no such database" "$TMP/err"
[ -e "$TMP/typo.db" ] && fail "a mistyped database name created a file"
: >"$TMP/empty.db"
expect_exit 2 "$SOMNA" study status --db "$TMP/empty.db"
expect_grep "not a somna study database" "$TMP/err"
[ -s "$TMP/empty.db" ] && fail "reading an empty database wrote to it"
printf 'name = Second study\ndesign = parallel\nseed = 9\ncondition = a | A | foot\ncondition = b | B | control\n' >"$TMP/second.txt"
expect_exit 0 "$SOMNA" study init --db "$DB" "$TMP/second.txt"
expect_exit 2 "$SOMNA" study analyze --db "$DB"
expect_grep "holds 2 studies; choose one with --study NAME" "$TMP/err"
expect_exit 0 "$SOMNA" study enrol --db "$DB" --study "Second study" --id P1 --stratum F
expect_exit 0 "$SOMNA" study export --db "$DB" --study "Nap crossover" --table participants
[ "$(grep -c '^P' "$TMP/out")" = 5 ] || fail "participants of the first study: $(cat "$TMP/out")"
# ---- allocation made outside somna: recorded from the session log when it determines it ------------------
D3="$TMP/s3.db"
expect_exit 0 "$SOMNA" study init --db "$D3" "$TMP/study.txt"
expect_exit 0 "$SOMNA" study enrol --db "$D3" --csv "$TMP/screen.csv"
# P1: both periods -> sequence relax,control; P2: period 2 only -> undetermined, left unallocated
printf 'participant,condition,period,minutes\nP1,relax,1,30\nP1,control,2,0\nP2,control,2,0\n' >"$TMP/ses3.csv"
expect_exit 0 "$SOMNA" study import --db "$D3" sessions "$TMP/ses3.csv"
expect_exit 0 "$SOMNA" study export --db "$D3" --table participants
expect_grep '^P1,.*,randomized,NA,"relax,control",' "$TMP/out"
grep -q '^P2,.*,randomized,' "$TMP/out" && fail "P2's allocation was guessed from one period: $(grep '^P2' "$TMP/out")"
finish
