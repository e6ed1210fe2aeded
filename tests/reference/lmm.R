# Reference values for mixed_model (tests/test_mixed_model.py): lme4 + lmerTest (Satterthwaite)
# and pbkrtest (Kenward-Roger, via lmerTest's summary(ddf = "Kenward-Roger")).
# Run from the repo root: Rscript tests/reference/lmm.R
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(nlme); library(jsonlite)})
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 2e-4, rhoend = 1e-12, maxfun = 1e5))
tidy <- function(fit, ddf) {
  s <- summary(fit, ddf = ddf)$coefficients
  lapply(seq_len(nrow(s)), function(i) list(term = rownames(s)[i], estimate = s[i, "Estimate"],
    se = s[i, "Std. Error"], df = s[i, "df"], t = s[i, "t value"], pval = s[i, "Pr(>|t|)"]))
}
info <- function(fit, kr = TRUE) {
  vc <- as.data.frame(VarCorr(fit))
  out <- list(loglik = as.numeric(logLik(fit)), aic = AIC(fit), bic = BIC(fit),
       deviance = if (isREML(fit)) as.numeric(REMLcrit(fit)) else as.numeric(deviance(fit)),
       theta = as.numeric(getME(fit, "theta")), sigma = sigma(fit),
       vcov = vc$vcov, sdcor = vc$sdcor, nobs = nobs(fit),
       satterthwaite = tidy(fit, "Satterthwaite"), singular = isSingular(fit))
  if (kr) out$kenward_roger <- tidy(fit, "Kenward-Roger")
  out
}
ss <- lme4::sleepstudy
write.csv(ss, "tests/reference/data/sleepstudy.csv", row.names = FALSE)
out <- list()
out$sleep_slope_reml <- info(lmer(Reaction ~ Days + (Days | Subject), ss, REML = TRUE, control = ctrl))
out$sleep_slope_ml <- info(lmer(Reaction ~ Days + (Days | Subject), ss, REML = FALSE, control = ctrl), kr = FALSE)
out$sleep_int <- info(lmer(Reaction ~ Days + (1 | Subject), ss, control = ctrl))
o <- as.data.frame(nlme::Orthodont); o$Subject <- as.character(o$Subject); o$Sex <- as.character(o$Sex)
write.csv(o, "tests/reference/data/orthodont.csv", row.names = FALSE)
out$ortho <- info(lmer(distance ~ age * Sex + (age | Subject), o, control = ctrl))
# program6wk-shaped cohort with missed visits and a categorical week
set.seed(2024)
n <- 60; w <- c(0, 2, 4, 6)
d <- expand.grid(week = w, subject = sprintf("P%02d", 1:n))
u0 <- rnorm(n, 0, 5); u1 <- rnorm(n, 0, 0.8)
d$strength <- 3 + rnorm(n, 0, 0.5)[as.integer(d$subject)] + 0.1 * d$week + rnorm(nrow(d), 0, 0.2)
d$function_score <- 50 + 6 * (d$strength - 3) + 1.5 * d$week + u0[as.integer(d$subject)] +
  u1[as.integer(d$subject)] * d$week + rnorm(nrow(d), 0, 3)
d <- d[-sample(nrow(d), 25), ]
d$function_score[sample(nrow(d), 6)] <- NA
write.csv(d[, c("subject", "week", "strength", "function_score")],
          "tests/reference/data/lmm_cohort.csv", row.names = FALSE, na = "")
out$cohort_slope <- info(lmer(function_score ~ strength * week + (week | subject), d, control = ctrl))
out$cohort_factor <- info(lmer(function_score ~ factor(week) + strength + (1 | subject), d, control = ctrl))
# singular: no true between-subject slope variation, few subjects
set.seed(5)
s <- expand.grid(t = 0:3, id = sprintf("S%d", 1:8))
s$y <- 10 + 0.5 * s$t + rnorm(8, 0, 1)[as.integer(s$id)] + rnorm(nrow(s), 0, 1)
write.csv(s, "tests/reference/data/lmm_singular.csv", row.names = FALSE)
out$singular <- info(lmer(y ~ t + (t | id), s, control = ctrl), kr = FALSE)
write_json(out, "tests/reference/lmm.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
