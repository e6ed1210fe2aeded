# Reference values for effect_from_summary and meta_analysis: metafor (tests/test_meta.py).
# Run from the repo root: Rscript tests/reference/meta.R
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
ctl <- list(threshold = 1e-12, maxiter = 1000)
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
write.csv(data.frame(trial = bcg$trial, author = bcg$author, yi = as.numeric(bcg$yi),
                     vi = as.numeric(bcg$vi)), "tests/reference/data/bcg.csv", row.names = FALSE)
fit <- function(m, test = "z") {
  r <- rma(yi, vi, data = bcg, method = m, test = test, control = ctl)
  p <- predict(r)
  list(estimate = as.numeric(r$b), se = r$se, stat = r$zval, pval = r$pval, ci_low = r$ci.lb,
       ci_high = r$ci.ub,
       pi_low = if (is.null(p$pi.lb)) p$ci.lb else p$pi.lb,  # FE: no PI, it equals the CI
       pi_high = if (is.null(p$pi.ub)) p$ci.ub else p$pi.ub, tau2 = r$tau2, i2 = r$I2,
       h2 = r$H2, q = r$QE, q_pval = r$QEp, k = r$k, weights = as.numeric(weights(r)))
}
out <- list(REML = fit("REML"), DL = fit("DL"), FE = fit("FE"), REML_knha = fit("REML", "knha"))
# illustrative hip-abductor summaries (NOT a published data set; shapes only)
s <- data.frame(m1 = c(2.4, 3.1, 2.0, 4.4), sd1 = c(2.0, 2.2, 1.8, 2.6), n1 = c(16, 20, 25, 12),
                m2 = c(4.1, 4.0, 3.2, 4.9), sd2 = c(2.5, 2.4, 2.0, 2.1), n2 = c(17, 20, 24, 13))
write.csv(s, "tests/reference/data/summaries.csv", row.names = FALSE)
for (m in c("SMD", "MD", "ROM")) {
  e <- escalc(measure = m, m1i = m1, sd1i = sd1, n1i = n1, m2i = m2, sd2i = sd2, n2i = n2, data = s)
  out$escalc[[m]] <- list(yi = as.numeric(e$yi), vi = as.numeric(e$vi))
}
write_json(out, "tests/reference/meta.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
