# Reference values for timepoint_corr and rm_corr (tests/test_correlation.py).
# rmcorr is not packaged in Debian: it is computed as its ANCOVA, lm(y ~ factor(subject) + x),
# with r = sign(slope) * sqrt(SS_x / (SS_x + SS_res)) from type III (drop1) sums of squares and
# the CI psych::r.con(r, df + 2) of rmcorr >= 0.5 (Fisher z, SE 1/sqrt(df - 1)).
# Run from the repo root: Rscript tests/reference/correlation.R
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
out <- list()
# sleepstudy: within-subject Reaction vs Days
ss <- lme4::sleepstudy
write.csv(ss, "tests/reference/data/sleepstudy.csv", row.names = FALSE)
rmc <- function(d, x, y, s) {
  d <- d[complete.cases(d[, c(x, y, s)]), ]
  f <- lm(d[[y]] ~ factor(d[[s]]) + d[[x]])
  dr <- drop1(f, ~., test = "F")
  ssx <- dr$`Sum of Sq`[3]; ssr <- dr$RSS[1]
  r <- sign(coef(f)[length(coef(f))]) * sqrt(ssx / (ssx + ssr))
  df <- f$df.residual
  z <- atanh(r); se <- 1 / sqrt(df + 2 - 3)
  list(r = unname(r), dof = df, pval = dr$`Pr(>F)`[3],
       ci_low = tanh(z - qnorm(0.975) * se), ci_high = tanh(z + qnorm(0.975) * se),
       n_obs = nrow(d), n_subjects = length(unique(d[[s]])))
}
out$rm_sleep <- rmc(ss, "Days", "Reaction", "Subject")
# a cohort with missing values and one subject with a single complete row
set.seed(42)
n <- 30; w <- c(0, 2, 4, 6)
d <- expand.grid(week = w, subject = sprintf("S%02d", 1:n))
a <- rnorm(n, 0, 1); b <- rnorm(n, 0, 8)
d$strength <- 3 + a[as.integer(d$subject)] + 0.1 * d$week + rnorm(nrow(d), 0, 0.3)
d$function_score <- 55 + b[as.integer(d$subject)] + 6 * (d$strength - 3) + rnorm(nrow(d), 0, 5)
d$strength[sample(nrow(d), 8)] <- NA
d$function_score[sample(nrow(d), 6)] <- NA
d$strength[d$subject == "S01"] <- c(3.1, NA, NA, NA)
write.csv(d[, c("subject", "week", "strength", "function_score")],
          "tests/reference/data/corr_cohort.csv", row.names = FALSE, na = "")
out$rm_cohort <- rmc(d, "strength", "function_score", "subject")
tp <- list()
for (m in c("pearson", "spearman")) {
  rows <- list()
  for (wk in w) {
    s <- d[d$week == wk, ]; s <- s[complete.cases(s$strength, s$function_score), ]
    ct <- cor.test(s$strength, s$function_score, method = m, exact = FALSE)
    r <- unname(ct$estimate); nn <- nrow(s)
    se <- if (m == "pearson") 1 / sqrt(nn - 3) else sqrt((1 + r^2 / 2) / (nn - 3))
    rows[[length(rows) + 1]] <- list(week = wk, n = nn, r = r, pval = ct$p.value,
      ci_low = tanh(atanh(r) - qnorm(0.975) * se), ci_high = tanh(atanh(r) + qnorm(0.975) * se))
  }
  p <- sapply(rows, function(x) x$pval)
  ph <- p.adjust(p, "holm"); pb <- p.adjust(p, "BH")
  for (i in seq_along(rows)) { rows[[i]]$pval_holm <- ph[i]; rows[[i]]$pval_bh <- pb[i] }
  tp[[m]] <- rows
}
out$timepoint <- tp
write_json(out, "tests/reference/correlation.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
