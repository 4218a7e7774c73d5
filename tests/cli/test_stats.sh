#!/bin/bash
# somna stats: the CLI on long-format CSVs built from the data of
# tests/r/stats_reference.R, checked against R's values in
# tests/r/stats_expected.txt; plus usage errors and degenerate inputs.
. "$(dirname "$0")/lib.sh"
SRC=${SOMNA_SOURCE_DIR:-.}
EXP="$SRC/tests/r/stats_expected.txt"
[ -r "$EXP" ] || { echo "FAIL: $EXP missing"; exit 1; }

# data NAME -> its values, one per line
data() { awk -v n="$1" '$1 == "data" && $2 == n { for (i = 3; i <= NF; i++) print $i }' "$EXP"; }
# expected CASE KEY [INDEX] -> R's value
expected() { awk -v c="$1" -v k="$2" -v i="${3:-1}" '$1 == c && $2 == k { print $(2 + i); exit }' "$EXP"; }
# jnum KEY FILE [N]: the N-th (default 1st) numeric value of "KEY": in a JSON file
jnum() { grep -E "\"$1\": " "$2" | sed -n "${3:-1}p" | sed -E 's/.*": ([^,]*),?$/\1/'; }
# close A B REL: |A-B| <= REL*max(|A|,|B|)
close() {
  awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; m = a < 0 ? -a : a; mb = b < 0 ? -b : b;
    if (mb > m) m = mb; exit !(a != "" && b != "" && d <= r * m) }'
}
check() { # check LABEL GOT WANT REL
  close "$2" "$3" "$4" || fail "$1: got '$2', R says '$3'"
}

# ---- paired: long format (id, condition, sol) and wide (pre, post) --------
paste -d, <(data pt1_before) <(data pt1_after) | awk -F, 'BEGIN { print "id,condition,sol" }
  { printf "p%02d,control,%s\np%02d,massage,%s\n", NR, $1, NR, $2 }' > "$TMP/long.csv"
expect_exit 0 "$SOMNA" stats ttest-paired "$TMP/long.csv" --y sol --group condition --subject id --json
check "paired t p" "$(jnum p "$TMP/out")" "$(expected pt1_t p)" 1e-8
check "paired t statistic" "$(jnum statistic "$TMP/out")" "$(expected pt1_t statistic)" 1e-8
check "paired t ci_low" "$(jnum ci_low "$TMP/out")" "$(expected pt1_t ci 1)" 1e-8
check "Cohen dz" "$(jnum value "$TMP/out")" "$(expected pt1 dz 1)" 1e-8
check "percent change (ratio of means)" "$(jnum ratio_of_means "$TMP/out")" "$(expected pt1 pct_ratio_means)" 1e-8
expect_grep '"comparison": "massage - control"' "$TMP/out"
grep -qi 'nan' "$TMP/out" && fail "JSON contains NaN"
# --ref flips the direction
expect_exit 0 "$SOMNA" stats ttest-paired "$TMP/long.csv" --y sol --group condition --pair-by id --ref massage --json
check "paired t with --ref" "$(jnum estimate "$TMP/out")" "$(awk -v v="$(expected pt1_t estimate)" 'BEGIN { print -v }')" 1e-12

paste -d, <(data pt2_before) <(data pt2_after) | awk -F, 'BEGIN { print "id,pre,post" } { print NR "," $1 "," $2 }' \
  > "$TMP/wide.csv"
expect_exit 0 "$SOMNA" stats wilcoxon "$TMP/wide.csv" --before pre --after post --json
check "wilcoxon V (ties, zeros)" "$(jnum statistic "$TMP/out")" "$(expected pt2_w statistic)" 1e-12
check "wilcoxon p (normal approximation)" "$(jnum p "$TMP/out")" "$(expected pt2_w p)" 1e-8
expect_grep '"why": "zero differences' "$TMP/out"
expect_grep '"n_dropped": 2' "$TMP/out"
expect_exit 0 "$SOMNA" stats wilcoxon "$TMP/wide.csv" --before pre --after post
expect_grep 'Wilcoxon signed rank test' "$TMP/out"

# ---- two groups --------------------------------------------------------------
{ echo "group,score"; data tg1_x | sed 's/^/massage,/'; data tg1_y | sed 's/^/control,/'; } > "$TMP/two.csv"
expect_exit 0 "$SOMNA" stats ttest-welch "$TMP/two.csv" --y score --group group --json
check "Welch df" "$(jnum df "$TMP/out")" "$(expected tg1_welch df)" 1e-8
check "Welch p" "$(jnum p "$TMP/out")" "$(expected tg1_welch p)" 1e-8
expect_exit 0 "$SOMNA" stats ttest-student "$TMP/two.csv" --y score --group group --json
check "Student p" "$(jnum p "$TMP/out")" "$(expected tg1_student p)" 1e-8
expect_exit 0 "$SOMNA" stats mannwhitney "$TMP/two.csv" --y score --group group --json
check "Mann-Whitney W" "$(jnum statistic "$TMP/out")" "$(expected tg1_mw statistic)" 1e-12
check "Mann-Whitney exact p" "$(jnum p "$TMP/out")" "$(expected tg1_mw p)" 1e-8

# ---- k conditions within subjects (one missing cell) -------------------------
for i in $(seq 1 10); do data "rm_row$i" | awk -v s="$i" '{ print "s" s ",c" NR "," $1 }'; done |
  sed '1i id,cond,y' > "$TMP/rm.csv"
expect_exit 0 "$SOMNA" stats rmanova "$TMP/rm.csv" --y y --group cond --subject id --json
check "RM-ANOVA F" "$(jnum statistic "$TMP/out")" "$(expected rm F)" 1e-8
check "RM-ANOVA p" "$(jnum p "$TMP/out")" "$(expected rm p)" 1e-8
check "Greenhouse-Geisser p" "$(jnum p_gg "$TMP/out")" "$(expected rm gg 2)" 1e-8
check "Mauchly W" "$(jnum mauchly_W "$TMP/out")" "$(expected rm mauchly 1)" 1e-8
check "Holm p of c2 - c1" "$(jnum p_holm "$TMP/out")" "$(expected pw_t holm 1)" 1e-8
expect_grep '"n_dropped": 1' "$TMP/out"
expect_exit 0 "$SOMNA" stats friedman "$TMP/rm.csv" --y y --group cond --subject id --json
check "Friedman chi-squared" "$(jnum statistic "$TMP/out")" "$(expected fr statistic)" 1e-8

# ---- mixed model: crossover with missing nights ------------------------------
paste -d, <(data lmm1_id) <(data lmm1_cond) <(data lmm1_period) <(data lmm1_y) |
  awk -F, 'BEGIN { print "id,condition,period,sol" } { print "P" $1 ",C" $2 "," $3 "," $4 }' > "$TMP/lmm.csv"
expect_exit 0 "$SOMNA" stats lmm "$TMP/lmm.csv" --y sol --group condition --subject id --covariate period --json
check "LMM condition C2 estimate" "$(jnum estimate "$TMP/out" 2)" "$(expected lmm1 coef1 1)" 1e-6
check "LMM condition C2 Satterthwaite df" "$(jnum df "$TMP/out" 2)" "$(expected lmm1 coef1 3)" 1e-6
check "LMM period p" "$(jnum p "$TMP/out" 4)" "$(expected lmm1 coef3 5)" 1e-6
expect_grep '"term": "condition\[C2\]"' "$TMP/out"
check "LMM pairwise C3 - C2 p" "$(jnum p "$TMP/out" 9)" "$(expected lmm1_pairs p 3)" 1e-6
check "LMM pairwise C2 - C1 Holm" "$(jnum p_holm "$TMP/out" 1)" "$(expected lmm1_pairs holm 1)" 1e-6
check "LMM pairwise C3 - C2 df" "$(jnum df "$TMP/out" 9)" "$(expected lmm1_pairs df 3)" 1e-6
# the "terms" F tests follow the coefficients: condition, then period
check "LMM condition F" "$(jnum statistic "$TMP/out" 5)" "$(expected lmm1_F cond 1)" 1e-6
check "LMM condition F df2" "$(jnum df2 "$TMP/out" 1)" "$(expected lmm1_F cond 3)" 1e-6

expect_exit 0 "$SOMNA" stats lmm "$TMP/lmm.csv" --y sol --group condition --subject id --covariate period --ddf kr --json
check "LMM Kenward-Roger C2 SE" "$(jnum se "$TMP/out" 2)" "$(expected m1_kr coef1 2)" 1e-6
check "LMM Kenward-Roger C2 df" "$(jnum df "$TMP/out" 2)" "$(expected m1_kr coef1 3)" 1e-6
check "LMM Kenward-Roger condition F" "$(jnum statistic "$TMP/out" 5)" "$(expected m1_kr F1 1)" 1e-6
expect_grep '"df_method": "Kenward-Roger"' "$TMP/out"

# period as a factor: coefficients condition[C2], condition[C3], period[2], period[3]
expect_exit 0 "$SOMNA" stats lmm "$TMP/lmm.csv" --y sol --group condition --subject id --factor period --json
check "LMM period[3] estimate" "$(jnum estimate "$TMP/out" 5)" "$(expected lmm1f coef4 1)" 1e-6
check "LMM period[3] df" "$(jnum df "$TMP/out" 5)" "$(expected lmm1f coef4 3)" 1e-6
check "LMM period factor F df2" "$(jnum df2 "$TMP/out" 2)" "$(expected lmm1f_F period 3)" 1e-6
expect_grep '"term": "period\[3\]"' "$TMP/out"

# parallel pre/post trial: group x time interaction
paste -d, <(data lmm5_id) <(data lmm5_massage) <(data lmm5_post) <(data lmm5_y) |
  awk -F, 'BEGIN { print "id,group,time,y" }
    { print $1 "," ($2 == 1 ? "massage" : "control") "," ($3 == 1 ? "post" : "pre") "," $4 }' > "$TMP/prepost.csv"
expect_exit 0 "$SOMNA" stats lmm "$TMP/prepost.csv" --y y --group group --subject id --factor time \
  --interaction group:time --json
expect_grep '"term": "group\[massage\]:time\[pre\]"' "$TMP/out"
check "interaction estimate" "$(jnum estimate "$TMP/out" 4)" "$(expected lmm5 coef3 1)" 1e-6
check "interaction df" "$(jnum df "$TMP/out" 4)" "$(expected lmm5 coef3 3)" 1e-6
check "interaction F" "$(jnum statistic "$TMP/out" 5)" "$(expected lmm5_F interaction 1)" 1e-6
check "group main effect (at time = post)" "$(jnum estimate "$TMP/out" 2)" "$(expected lmm5 coef1 1)" 1e-6
expect_exit 2 "$SOMNA" stats lmm "$TMP/prepost.csv" --y y --group group --subject id --interaction group:visit
expect_grep 'interaction group:visit' "$TMP/err"

# dose-response: the slope per session minute, no --group; one row without a value
paste -d, <(data lmm2_id) <(data lmm2_min) <(data lmm2_y) |
  awk -F, 'BEGIN { print "id,minutes,sol" } { print $1 "," $2 "," $3 } END { print "99,60," }' > "$TMP/dose.csv"
expect_exit 0 "$SOMNA" stats lmm "$TMP/dose.csv" --y sol --subject id --covariate minutes --json
check "dose-response slope" "$(jnum estimate "$TMP/out" 2)" "$(expected lmm2 coef1 1)" 1e-6
check "dose-response slope p" "$(jnum p "$TMP/out" 2)" "$(expected lmm2 coef1 5)" 1e-6
expect_grep '"n_dropped": 1' "$TMP/out"

# ---- categorical ----------------------------------------------------------------
# chi-squared 2 x 3 from R's table 8 12 5 / 10 4 11
{ echo "arm,quality"
  for c in "A,poor 8" "A,fair 12" "A,good 5" "B,poor 10" "B,fair 4" "B,good 11"; do
    set -- $c; for i in $(seq 1 "$2"); do echo "$1"; done; done; } > "$TMP/chisq.csv"
expect_exit 0 "$SOMNA" stats chisq "$TMP/chisq.csv" --group arm --y quality --json
check "chi-squared 2 x 3" "$(jnum statistic "$TMP/out")" "$(expected ch23 statistic)" 1e-8
check "chi-squared p" "$(jnum p "$TMP/out")" "$(expected ch23 p)" 1e-8
expect_exit 0 "$SOMNA" stats fisher "$TMP/chisq.csv" --group arm --y quality --json
check "Fisher 2 x 3 p" "$(jnum p "$TMP/out")" "$(expected fi23 p)" 1e-8
# McNemar 2 x 2 from R's table (rows before, cols after): 5 14 / 3 8
{ echo "id,before,after"
  for i in $(seq 1 5); do echo "a$i,poor,poor"; done; for i in $(seq 1 14); do echo "b$i,poor,good"; done
  for i in $(seq 1 3); do echo "c$i,good,poor"; done; for i in $(seq 1 8); do echo "d$i,good,good"; done
  echo "e1,,good"; } > "$TMP/mc.csv"
expect_exit 0 "$SOMNA" stats mcnemar "$TMP/mc.csv" --before before --after after --json
check "McNemar chi-squared" "$(jnum statistic "$TMP/out")" "$(expected mc2 statistic)" 1e-8
check "McNemar exact p" "$(jnum p_exact "$TMP/out")" "$(expected mc2 exact_p)" 1e-8
expect_grep '"n_dropped": 1' "$TMP/out"
expect_exit 0 "$SOMNA" stats fisher "$TMP/mc.csv" --group before --y after --json
expect_grep '"test": "fisher"' "$TMP/out"

# ---- N-of-1 ------------------------------------------------------------------------
paste -d, <(data n1_y) <(data n1_s) | awk -F, 'BEGIN { print "night,sol,massage" } { print NR "," $1 "," $2 }' \
  > "$TMP/nof1.csv"
expect_exit 0 "$SOMNA" stats permutation "$TMP/nof1.csv" --y sol --group massage --lag 2 --json
check "N-of-1 exact p (lag 2)" "$(jnum p "$TMP/out")" "$(expected n1_lag2 res 2)" 1e-8
cp "$TMP/out" "$TMP/nof1_a.json"
expect_exit 0 "$SOMNA" stats permutation "$TMP/nof1.csv" --y sol --group massage --lag 2 --json
cmp -s "$TMP/out" "$TMP/nof1_a.json" || fail "same seed gave different output"

# ---- meta-analysis ---------------------------------------------------------------
paste -d, <(data meta_yi) <(data meta_vi) | sed '1i g,v' > "$TMP/meta.csv"
expect_exit 0 "$SOMNA" stats meta "$TMP/meta.csv" --yi g --vi v --method DL --json
check "DL tau2" "$(jnum tau2 "$TMP/out")" "$(expected meta_DL res 7)" 1e-8
check "DL pooled effect" "$(jnum estimate "$TMP/out")" "$(expected meta_DL res 1)" 1e-8
expect_exit 0 "$SOMNA" stats meta "$TMP/meta.csv" --yi g --vi v --json
check "REML tau2" "$(jnum tau2 "$TMP/out")" "$(expected meta_REML res 7)" 1e-8

# ---- usage errors (exit 1) and bad input (exit 2, nothing on stdout) -----------
expect_exit 0 "$SOMNA" stats --help
expect_grep 'Usage: somna stats TEST DATA.csv' "$TMP/out"
expect_exit 1 "$SOMNA" stats anova "$TMP/long.csv"
expect_exit 1 "$SOMNA" stats ttest-paired
expect_exit 1 "$SOMNA" stats ttest-paired "$TMP/long.csv" --y sol --group condition
expect_grep 'needs --subject' "$TMP/err"
expect_exit 2 "$SOMNA" stats ttest-paired "$TMP/long.csv" --y latency --group condition --subject id
expect_grep 'latency' "$TMP/err"
printf 'id,c,y\n1,a,5\n1,b,6\n2,a,7\n2,b,8\n3,a,1\n3,b,2\n' > "$TMP/const.csv"
expect_exit 2 "$SOMNA" stats ttest-paired "$TMP/const.csv" --y y --group c --subject id --json
expect_grep 'zero variance' "$TMP/err"
[ -s "$TMP/out" ] && fail "output written despite the error"
printf 'id,c,y\n1,a,5\n1,b,6\n2,a,7\n2,c,8\n3,a,1\n3,b,2\n' > "$TMP/three.csv"
expect_exit 2 "$SOMNA" stats ttest-paired "$TMP/three.csv" --y y --group c --subject id
expect_grep '3 levels' "$TMP/err"
printf 'id,c,y\n1,a,5\n1,b,6\n1,a,7\n' > "$TMP/dup.csv"
expect_exit 2 "$SOMNA" stats ttest-paired "$TMP/dup.csv" --y y --group c --subject id
expect_grep 'dup.csv:4: subject 1 has a second row' "$TMP/err"
printf 'id,c,y\n1,a,5\n1,b,six\n' > "$TMP/junk.csv"
expect_exit 2 "$SOMNA" stats ttest-paired "$TMP/junk.csv" --y y --group c --subject id
expect_grep 'junk.csv:3' "$TMP/err"
printf 'id,c,y\n1,a,5\n1,b,NA\n2,a,3\n2,b,NA\n' > "$TMP/empty.csv"
expect_exit 2 "$SOMNA" stats rmanova "$TMP/empty.csv" --y y --group c --subject id
expect_grep 'condition b of c has no y values' "$TMP/err"
printf 'id,c,y\n1,a,1e300\n1,b,2\n2,a,5\n2,b,6\n' > "$TMP/huge.csv"
expect_exit 2 "$SOMNA" stats ttest-paired "$TMP/huge.csv" --y y --group c --subject id
expect_grep 'huge.csv:2: column y: 1e+300 is too large' "$TMP/err"
expect_exit 2 "$SOMNA" stats meta "$TMP/meta.csv" --yi g --vi v --method EB
expect_exit 1 "$SOMNA" stats permutation "$TMP/nof1.csv" --y sol --group massage --lag 0
finish
