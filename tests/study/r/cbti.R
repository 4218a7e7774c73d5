# Reference numbers for tests/study/test_cbti.c: the analysis `somna study
# analyze` runs on the CBT-I diary trial (../shared/data/sleep-diary-intervention-sleeps),
# computed independently in R 4.2 with lme4 + lmerTest.
#   Rscript tests/study/r/cbti.R ../shared/data/sleep-diary-intervention-sleeps/dataset.csv \
#       > tests/study/r/cbti_expected.csv
# Design (parallel, as docs/study.md): arm = Sleeps1Edu2 (1 = sleeps, 2 = edu, edu the reference);
# follow-up visits 2..7 for the weekly diary aggregates, 5 and 7 for ISI/PHQ (baseline B excluded);
# per participant the mean over the available follow-up visits; Welch t, Mann-Whitney (wilcox.test),
# Cohen's d (pooled SD); lmer(value ~ arm + factor(visit) + (1 | id), REML) with Satterthwaite df.
suppressPackageStartupMessages({ library(lme4); library(lmerTest) })
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], na.strings = c("", " ", "NA"), strip.white = TRUE)
d$id <- sprintf("R%02d", seq_len(nrow(d)))
d$arm <- factor(ifelse(d$Sleeps1Edu2 == 1, "sleeps", "edu"), levels = c("edu", "sleeps"))
visits <- list(SE = 2:7, WASO = 2:7, AWAN = 2:7, TST = 2:7, ISI = c(5, 7), PHQ = c(5, 7))
out <- data.frame()
for (m in names(visits)) {
  cols <- paste0(m, "_", visits[[m]])
  long <- do.call(rbind, lapply(seq_along(cols), function(k)
    data.frame(id = d$id, arm = d$arm, visit = as.character(visits[[m]][k]), value = d[[cols[k]]])))
  long <- long[!is.na(long$value), ]
  pm <- aggregate(value ~ id + arm, data = long, FUN = mean)
  x <- pm$value[pm$arm == "sleeps"]; y <- pm$value[pm$arm == "edu"]
  tt <- t.test(x, y, var.equal = FALSE)
  mw <- suppressWarnings(wilcox.test(x, y, exact = NULL, correct = TRUE))
  sp <- sqrt(((length(x) - 1) * var(x) + (length(y) - 1) * var(y)) / (length(x) + length(y) - 2))
  fit <- lmer(value ~ arm + factor(visit) + (1 | id), data = long, REML = TRUE)
  co <- summary(fit)$coefficients["armsleeps", ]
  out <- rbind(out, data.frame(measure = m, n = length(x) + length(y),
    mean = mean(x), sd = sd(x), ref_mean = mean(y), ref_sd = sd(y),
    estimate = unname(tt$estimate[1] - tt$estimate[2]), ci_low = tt$conf.int[1], ci_high = tt$conf.int[2],
    t = unname(tt$statistic), df = unname(tt$parameter), p = tt$p.value, p_mw = mw$p.value,
    d = (mean(x) - mean(y)) / sp,
    lmm_estimate = unname(co["Estimate"]), lmm_se = unname(co["Std. Error"]), lmm_df = unname(co["df"]),
    lmm_p = unname(co["Pr(>|t|)"])))
}
out$p_holm <- p.adjust(out$p, "holm")
write.csv(format(out, digits = 15), row.names = FALSE, quote = FALSE)
