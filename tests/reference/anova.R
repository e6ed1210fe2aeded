# Reference values for mixed_anova: afex::aov_ez defaults (type III, contr.sum, ges, GG)
# (tests/test_anova.py). Run from the repo root: Rscript tests/reference/anova.R
suppressPackageStartupMessages({library(afex); library(nlme); library(jsonlite)})
tab <- function(a) {
  t1 <- anova(a, correction = "none", es = "ges")
  tg <- anova(a, correction = "GG", es = "ges")
  gg <- summary(a)$pval.adjustments
  lapply(seq_len(nrow(t1)), function(i) {
    eff <- rownames(t1)[i]
    list(effect = eff, df1 = t1[i, "num Df"], df2 = t1[i, "den Df"], MSE = t1[i, "MSE"],
         F = t1[i, "F"], pval = t1[i, "Pr(>F)"], ges = t1[i, "ges"],
         eps = if (!is.null(gg) && eff %in% rownames(gg)) gg[eff, "GG eps"] else NA,
         pval_gg = tg[i, "Pr(>F)"])
  })
}
o <- as.data.frame(nlme::Orthodont); o$Subject <- as.character(o$Subject); o$Sex <- as.character(o$Sex)
out <- list()
out$ortho <- tab(aov_ez("Subject", "distance", o, between = "Sex", within = "age"))
out$ortho_within <- tab(aov_ez("Subject", "distance", o, within = "age"))
# unbalanced 3-group x 4-week cohort with one incomplete subject
set.seed(11)
n <- 21; g <- rep(c("a", "b", "c"), times = c(9, 7, 5)); w <- c(0, 2, 4, 6)
d <- expand.grid(week = w, subject = sprintf("S%02d", 1:n))
d$group <- g[as.integer(d$subject)]
d$y <- 10 + rnorm(n, 0, 2)[as.integer(d$subject)] + 0.4 * d$week +
  ifelse(d$group == "b", 0.3 * d$week, 0) + rnorm(nrow(d), 0, 1 + d$week / 4)
d$y[d$subject == "S05" & d$week == 4] <- NA
write.csv(d, "tests/reference/data/anova_cohort.csv", row.names = FALSE, na = "")
dc <- d[!(d$subject %in% "S05"), ]
out$cohort <- tab(aov_ez("subject", "y", dc, between = "group", within = "week"))
write_json(out, "tests/reference/anova.json", digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
