# Reference values for the mixed-model paths added with the stats/lmm engine (issue 11, 12):
# three random effects (Oxboys age + age^2; a 3-level within factor as random slopes),
# uncorrelated random effects (||), a limb level nested in subject, and a model whose
# predictor's name is a prefix of another column (rows are dropped only for the model's
# own variables). lme4 + lmerTest (Satterthwaite) + pbkrtest (Kenward-Roger).
# Run from the repo root: Rscript tests/reference/lmm_extra.R
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
       sigma = sigma(fit), vc_grp = vc$grp, vc_var1 = ifelse(is.na(vc$var1), "", vc$var1),
       vc_var2 = ifelse(is.na(vc$var2), "", vc$var2), vcov = vc$vcov, sdcor = vc$sdcor,
       nobs = nobs(fit), satterthwaite = tidy(fit, "Satterthwaite"), singular = isSingular(fit))
  if (kr) out$kenward_roger <- tidy(fit, "Kenward-Roger")
  out
}
out <- list()
ox <- as.data.frame(nlme::Oxboys); ox$Subject <- as.character(ox$Subject); ox$age2 <- ox$age^2
write.csv(ox[, c("Subject", "age", "age2", "height")], "tests/reference/data/oxboys.csv", row.names = FALSE)
out$oxboys_q3 <- info(lmer(height ~ age + age2 + (age + age2 | Subject), ox, control = ctrl))
out$oxboys_q3_ml <- info(lmer(height ~ age + age2 + (age + age2 | Subject), ox, REML = FALSE,
                              control = ctrl), kr = FALSE)
q3 <- read.csv("tests/reference/data/lmm_q3.csv")
out$within3_q3 <- info(lmer(y ~ v1 + v2 + (v1 + v2 | subject), q3, control = ctrl))
ss <- read.csv("tests/reference/data/sleepstudy.csv")
out$sleep_uncorrelated <- info(lmer(Reaction ~ Days + (Days || Subject), ss, control = ctrl))
lb <- read.csv("tests/reference/data/lmm_limbs.csv")
out$limb_nested <- info(lmer(strength ~ limb * factor(week) + (1 | subject) + (1 | subject:limb),
                             lb, control = ctrl))
out$limb_nested_slope <- info(lmer(strength ~ limb * week + (week | subject) + (1 | subject:limb),
                                   lb, control = ctrl))
p6 <- read.csv("tests/reference/data/lmm_program6wk.csv")
out$prefix_columns <- info(lmer(function_score ~ strength_uninvolved + week + (1 | subject), p6,
                                control = ctrl))
write_json(out, "tests/reference/lmm_extra.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
