#!/usr/bin/env bash
# somna score: usage, bad input, column mapping, atomic output, the LCBC PSQI
# fixture, a hand-worked diary and a configurable scale through the CLI.
. "$(dirname "$0")/lib.sh"

# --- usage -------------------------------------------------------------------
expect_exit 0 "$SOMNA" score --help
expect_grep "Usage: somna score INSTRUMENT" "$TMP/out"
expect_exit 1 "$SOMNA" score
expect_exit 1 "$SOMNA" score bdi x.csv
expect_grep "unknown instrument 'bdi'" "$TMP/err"
expect_exit 2 "$SOMNA" score isi "$TMP/does-not-exist.csv"
expect_exit 0 "$SOMNA" score psqi --fields
expect_grep "psqi_05j" "$TMP/out"

# --- a missing column is named, and -o leaves no file behind ----------------------
printf 'id,isi_1,isi_2\nP1,1,2\n' >"$TMP/partial.csv"
expect_exit 2 "$SOMNA" score isi "$TMP/partial.csv" -o "$TMP/partial_out.csv"
expect_grep "isi_3" "$TMP/err"
[ ! -e "$TMP/partial_out.csv" ] || fail "partial output file left behind"

# --- hand-worked ISI with --map, 12-h/24-h PSQI with custom names -----------------
# P1: 2+3+1+3+2+2+1 = 14 -> subthreshold; P2: 4*7 = 28 -> severe;
# P3: item 4 blank -> not scorable, the problem names column Q4.
cat >"$TMP/isi.csv" <<'EOF'
subject,visit,Q1,Q2,Q3,Q4,Q5,Q6,Q7
P1,2024-01-10,2,3,1,3,2,2,1
P2,2024-01-11,4,4,4,4,4,4,4
P3,2024-01-12,0,0,0,,0,0,0
EOF
printf 'isi_1\tQ1\nisi_2\tQ2\nisi_3\tQ3\nisi_4\tQ4\nisi_5\tQ5\nisi_6\tQ6\nisi_7\tQ7\ndate\tvisit\n' >"$TMP/isi.map"
expect_exit 0 "$SOMNA" score isi "$TMP/isi.csv" --map "$TMP/isi.map" -o "$TMP/isi_out.csv"
expect_grep '^2,P1,2024-01-10,scored,14,subthreshold,$' "$TMP/isi_out.csv"
expect_grep '^3,P2,2024-01-11,scored,28,severe,$' "$TMP/isi_out.csv"
expect_grep '^4,P3,2024-01-12,not_scorable,NA,,Q4: not answered' "$TMP/isi_out.csv"
expect_grep "isi.csv:4: column Q4: not answered" "$TMP/err"
# --strict: the unscorable row fails the run and no file appears
expect_exit 2 "$SOMNA" score isi "$TMP/isi.csv" --map "$TMP/isi.map" --strict -o "$TMP/isi_strict.csv"
[ ! -e "$TMP/isi_strict.csv" ] || fail "--strict left an output file"
# a map line naming an absent column is an error naming the map line
printf 'isi_1\tQ1\nisi_2\tNOPE\n' >"$TMP/bad.map"
expect_exit 2 "$SOMNA" score isi "$TMP/isi.csv" --map "$TMP/bad.map"
expect_grep "bad.map:2: column 'NOPE'" "$TMP/err"

# PSQI with 12-hour entries and a bed time after midnight (see
# tests/survey/test_survey.c for the same arithmetic):
# A: 12:30 am -> 7:00 am = 6.5 h; 5.5 h asleep -> SE 84.6 % -> C4 1; C3 2;
#    45 min -> 2 + 5a 2 = 4 -> C2 2; 5b-5i sum 10 -> C5 2; C1 2, C6 0, C7 1+2=3 -> 2;
#    global 11 -> poor.
# B: 10:30 PM -> 6:30 AM = 8 h; 7.5 h -> SE 93.75 % -> C4 0; C3 0; 10 min -> 0
#    + 5a 0 -> C2 0; 5b-5i sum 1 -> C5 1; C1 1; C6 0; C7 0; global 2 -> good.
cat >"$TMP/psqi.csv" <<'EOF'
participant,date,PSQI 1,PSQI 2,PSQI 3,PSQI 4,PSQI 5a,PSQI 5b,PSQI 5c,PSQI 5d,PSQI 5e,PSQI 5f,PSQI 5g,PSQI 5h,PSQI 5i,PSQI 5j,PSQI 6,PSQI 7,PSQI 8,PSQI 9
A,2024-02-01,12:30 am,45,7:00 am,5.5,2,3,2,1,0,0,1,1,2,,2,0,1,2
B,2024-02-01,10:30 PM,10,6:30 AM,7.5,0,1,0,0,0,0,0,0,0,,1,0,0,0
EOF
expect_exit 0 "$SOMNA" score psqi "$TMP/psqi.csv" -o "$TMP/psqi_out.csv"
expect_grep '^2,A,2024-02-01,scored,2,2,2,1,2,0,2,11,1,6.5,' "$TMP/psqi_out.csv"
expect_grep '^3,B,2024-02-01,scored,1,0,0,0,1,0,0,2,0,8,93.75,good,$' "$TMP/psqi_out.csv"

# --- the LCBC fixture: every row equals the expected columns, except the four rows
# explained in docs/questionnaires.md and tests/survey/test_psqi_lcbc.c -----------
if [ -e "$DATA/psqi-items-lcbc/psqi.tsv" ]; then
  f="$DATA/psqi-items-lcbc/psqi.tsv"
  expect_exit 0 "$SOMNA" score psqi "$f" -o "$TMP/lcbc.csv" -q
  # expected: line<TAB>c1..c7<TAB>global, from the fixture's own columns
  awk -F'\t' 'NR==1{for(i=1;i<=NF;i++)h[$i]=i; next}
    {printf "%d", NR;
     n=split("dpsqi_comp1_sleepquality psqi_comp2_latency psqi_comp3_duration psqi_comp4_efficiency psqi_comp5_problems psqi_comp6_medication psqi_comp7_tired psqi_global", c, " ");
     for(k=1;k<=n;k++){v=$(h[c[k]]); printf ",%s", v}
     printf "\n"}' "$f" >"$TMP/lcbc_expected.csv"
  cut -d, -f1,5-12 "$TMP/lcbc.csv" | tail -n +2 >"$TMP/lcbc_ours.csv"
  # rows where fixture and published rule agree: identical
  for line in 2 4 7 8 9 10 11 13; do
    e=$(grep "^$line," "$TMP/lcbc_expected.csv"); o=$(grep "^$line," "$TMP/lcbc_ours.csv")
    [ "$e" = "$o" ] || fail "psqi.tsv line $line: ours '$o', fixture '$e'"
  done
  # the four explained rows: our published-rule values
  expect_grep '^3,1,0,0,0,1,0,0,2$' "$TMP/lcbc_ours.csv"      # fixture C4 3, global 5
  expect_grep '^5,1,2,0,NA,1,0,1,NA$' "$TMP/lcbc_ours.csv"    # fixture global 5
  expect_grep '^6,1,2,1,1,1,0,1,7$' "$TMP/lcbc_ours.csv"      # fixture C5 2, global 8
  expect_grep '^12,1,0,1,3,NA,0,1,NA$' "$TMP/lcbc_ours.csv"   # fixture C5 1, global 7
  # with the package's missing-as-zero rule line 12 equals the fixture too
  expect_exit 0 "$SOMNA" score psqi "$f" --psqi-missing-zero -q -o "$TMP/lcbc0.csv"
  o=$(cut -d, -f1,5-12 "$TMP/lcbc0.csv" | grep '^12,'); e=$(grep '^12,' "$TMP/lcbc_expected.csv")
  [ "$o" = "$e" ] || fail "line 12 with --psqi-missing-zero: ours '$o', fixture '$e'"
else
  echo "SKIP (part): $DATA/psqi-items-lcbc absent"
fi

# --- JSON ---------------------------------------------------------------------------
expect_exit 0 "$SOMNA" score isi "$TMP/isi.csv" --map "$TMP/isi.map" --json -q
/usr/bin/python3 - "$TMP/out" <<'EOF' || fail "JSON output check"
import json, sys
d = json.load(open(sys.argv[1]))
rows = d["rows"]
assert [r["scores"]["isi_total"] for r in rows] == [14, 28, None], rows
assert rows[2]["status"] == "not_scorable" and rows[2]["problems"][0]["column"] == "Q4"
assert d["summary"]["bands"] == {"subthreshold": 1, "severe": 1}, d["summary"]
EOF

# --- consensus sleep diary, per night and weekly ---------------------------------------
# N1: bed 22:45, try 23:15, SOL 20, WASO 35, final 06:10, out 06:40:
#     TIB 475, TST (445-30)-20-35 = 360, SE 75.789 %.
# N2: bed 12:40 am, try blank, SOL 25, WASO 10, final 7:05 am, out 7:30 am:
#     TIB 410, TST 385-25-10 = 350.  N3 (day 7 -> week 2): TIB 480, TST 480-0-15-0 = 465 -
#     bed 23:00, try 23:00, SOL 15, WASO 0, final 07:00, out 07:00 -> TST 465, SE 96.875 %.
# week 1 of P1: TIB (475+410)/2 = 442.5, TST (360+350)/2 = 355.
cat >"$TMP/diary.csv" <<'EOF'
id,date,bedtime,try_sleep,sol,awakenings,waso,final_wake,out_of_bed,quality
P1,2024-03-01,22:45,23:15,20,2,35,06:10,06:40,good
P1,2024-03-02,12:40 am,,25,1,10,7:05 am,7:30 am,3
P1,2024-03-08,23:00,23:00,15,0,0,07:00,07:00,very good
EOF
expect_exit 0 "$SOMNA" score diary "$TMP/diary.csv" -o "$TMP/diary_out.csv"
expect_grep '^2,P1,2024-03-01,scored,475,360,75.78947368421' "$TMP/diary_out.csv"
expect_grep '^3,P1,2024-03-02,scored,410,350,85.36585365853' "$TMP/diary_out.csv"
expect_grep '^4,P1,2024-03-08,scored,480,465,96.875,0,15,0,0,5,' "$TMP/diary_out.csv"
expect_exit 0 "$SOMNA" score diary "$TMP/diary.csv" --weekly -o "$TMP/weeks.csv"
expect_grep '^P1,1,2024-03-01,2,442.5,355,' "$TMP/weeks.csv"
expect_grep '^P1,2,2024-03-08,1,480,465,96.875,' "$TMP/weeks.csv"
expect_exit 0 "$SOMNA" score diary "$TMP/diary.csv" --json
/usr/bin/python3 - "$TMP/out" <<'EOF' || fail "diary JSON weeks"
import json, sys
d = json.load(open(sys.argv[1]))
w = d["weeks"]
assert [(x["id"], x["week"], x["n_nights"]) for x in w] == [("P1", 1, 2), ("P1", 2, 1)], w
assert w[0]["means"]["tst_min"] == 355 and w[0]["n"]["tst_min"] == 2
assert abs(w[0]["means"]["se_pct"] - (360 / 475 + 350 / 410) * 50) < 1e-9
assert d["rows"][1]["scores"]["sol_min"] == 25
EOF
# --weekly needs an id and a date column
printf 'bedtime,sol,waso,final_wake,out_of_bed\n23:00,10,0,07:00,07:10\n' >"$TMP/nodate.csv"
expect_exit 2 "$SOMNA" score diary "$TMP/nodate.csv" --weekly -o "$TMP/nodate_out.csv"
[ ! -e "$TMP/nodate_out.csv" ] || fail "--weekly without dates left an output file"

# --- configurable scale on the command line ----------------------------------------------
# r3 reverse keyed on 1..5: answers 4,5,2,3 -> 4,5,4,3 -> mean 4; answers 1,1,5,1 -> 1,1,1,1 -> 1
printf 'id,r1,r2,r3,r4\nS1,4,5,2,3\nS2,1,1,5,1\nS3,1,1,6,1\n' >"$TMP/relax.csv"
expect_exit 0 "$SOMNA" score scale "$TMP/relax.csv" --name relax --items r1,r2,r3,r4 --reverse r3 \
  --range 1:5 --scoring mean -o "$TMP/relax_out.csv"
expect_grep '^line,id,date,status,relax_score,relax_n_answered,band,problems$' "$TMP/relax_out.csv"
expect_grep '^2,S1,,scored,4,4,,$' "$TMP/relax_out.csv"
expect_grep '^3,S2,,scored,1,4,,$' "$TMP/relax_out.csv"
expect_grep '^4,S3,,not_scorable,NA,3,,.*r3: 6 is out of range 1-5' "$TMP/relax_out.csv"
# the same scale from a config file, as a prorated sum: S1 4+5+4+3 = 16;
# S3 has r3 out of range -> not scorable even with max_missing 1
cat >"$TMP/relax.conf" <<'EOF'
# relaxation state, 4 items
name = relax
items = r1, r2, r3, r4
reverse = r3
range = 1:5
scoring = sum
max_missing = 1
EOF
expect_exit 0 "$SOMNA" score scale "$TMP/relax.csv" --config "$TMP/relax.conf" -o "$TMP/relax_conf.csv"
expect_grep '^2,S1,,scored,16,4,,$' "$TMP/relax_conf.csv"
expect_grep '^4,S3,,not_scorable,NA,3,' "$TMP/relax_conf.csv"
printf 'items = r1,r2\nscoring = median\n' >"$TMP/bad.conf"
expect_exit 2 "$SOMNA" score scale "$TMP/relax.csv" --config "$TMP/bad.conf"
expect_grep "bad.conf:2: scoring: 'median'" "$TMP/err"
expect_exit 1 "$SOMNA" score scale "$TMP/relax.csv" --items r1,r2 --reverse r9
expect_exit 1 "$SOMNA" score isi "$TMP/isi.csv" --items a,b

finish
