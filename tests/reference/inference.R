# Reference values for fit.anova(), fit.emmeans(), fit.contrast() and compare_models()
# (issue 12): lmerTest anova (type III and I; Satterthwaite and Kenward-Roger), emmeans with
# lmer.df, pairs()/contrast() with adjustments, lme4's anova(m0, m1).
# Run from the repo root: Rscript tests/reference/inference.R
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(emmeans); library(jsonlite)})
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 2e-4, rhoend = 1e-12, maxfun = 1e5))
emm_options(lmerTest.limit = 1e6, pbkrtest.limit = 1e6)
tab <- function(a) {
  a <- as.data.frame(a)
  list(term = rownames(a), sum_sq = a[["Sum Sq"]], mean_sq = a[["Mean Sq"]],
       num_df = a[["NumDF"]], den_df = a[["DenDF"]], F = a[["F value"]], pval = a[["Pr(>F)"]])
}
emm_tab <- function(e, level = 0.95) {
  s <- as.data.frame(summary(e, level = level))
  names(s)[names(s) == "lower.CL"] <- "ci_low"; names(s)[names(s) == "upper.CL"] <- "ci_high"
  s[] <- lapply(s, function(x) if (is.factor(x)) as.character(x) else x)
  as.list(s)
}
con_tab <- function(cn) {
  s <- as.data.frame(summary(cn, infer = c(TRUE, TRUE)))
  names(s)[names(s) == "lower.CL"] <- "ci_low"; names(s)[names(s) == "upper.CL"] <- "ci_high"
  names(s)[names(s) == "p.value"] <- "pval"; names(s)[names(s) == "t.ratio"] <- "t"
  s[] <- lapply(s, function(x) if (is.factor(x)) as.character(x) else x)
  as.list(s)
}
case <- function(fit, specs, by = NULL) {
  out <- list(anova3_sat = tab(anova(fit, type = 3, ddf = "Satterthwaite")),
              anova1_sat = tab(anova(fit, type = 1, ddf = "Satterthwaite")))
  if (isREML(fit)) out$anova3_kr <- tab(anova(fit, type = 3, ddf = "Kenward-Roger"))
  f <- if (is.null(by)) as.formula(paste("~", specs)) else as.formula(paste("~", specs, "|", by))
  e_s <- emmeans(fit, f, lmer.df = "satterthwaite")
  out$emm_sat <- emm_tab(e_s)
  out$pairs_tukey_sat <- con_tab(pairs(e_s, adjust = "tukey"))
  out$pairs_holm_sat <- con_tab(pairs(e_s, adjust = "holm"))
  out$trt_holm_sat <- con_tab(contrast(e_s, "trt.vs.ctrl", adjust = "holm"))
  out$consec_bonf_sat <- con_tab(contrast(e_s, "consec", adjust = "bonferroni"))
  out$pairs_none_sat <- con_tab(pairs(e_s, adjust = "none"))
  if (isREML(fit)) {
    e_k <- emmeans(fit, f, lmer.df = "kenward-roger")
    out$emm_kr <- emm_tab(e_k)
    out$pairs_holm_kr <- con_tab(pairs(e_k, adjust = "holm"))
  }
  out
}
lrt <- function(m0, m1) {
  a <- as.data.frame(anova(m0, m1))
  list(npar = a$npar, aic = a$AIC, bic = a$BIC, loglik = a$logLik, deviance = a$deviance,
       chisq = a$Chisq, df = a$Df, pval = a[["Pr(>Chisq)"]])
}
out <- list()
tr <- read.csv("tests/reference/data/inference_trial.csv")
tr$fweek <- factor(tr$week)
m <- lmer(pain ~ fweek * group + (1 | subject), tr, control = ctrl)
out$trial <- case(m, "fweek", "group")
out$trial_ml <- case(lmer(pain ~ fweek * group + (1 | subject), tr, REML = FALSE, control = ctrl),
                     "group")
out$trial_slope <- case(lmer(pain ~ fweek * group + strength + (week | subject), tr, control = ctrl),
                        "group")
out$trial_lrt <- lrt(lmer(pain ~ fweek + group + (1 | subject), tr, control = ctrl),
                     lmer(pain ~ fweek * group + (1 | subject), tr, control = ctrl))
pp <- read.csv("tests/reference/data/inference_prepost.csv")
out$prepost <- case(lmer(strength ~ time * group + (1 | subject), pp, control = ctrl), "time", "group")
ss <- read.csv("tests/reference/data/sleepstudy.csv")
ss$fDays <- factor(ss$Days)
out$sleep <- case(lmer(Reaction ~ fDays + (1 | Subject), ss, control = ctrl), "fDays")
out$sleep_lrt <- lrt(lmer(Reaction ~ 1 + (Days | Subject), ss, control = ctrl),
                     lmer(Reaction ~ Days + (Days | Subject), ss, control = ctrl))
o <- read.csv("tests/reference/data/orthodont.csv")
out$ortho <- case(lmer(distance ~ age * Sex + (age | Subject), o, control = ctrl), "Sex")
cw <- as.data.frame(datasets::ChickWeight)
cw$Chick <- as.character(cw$Chick); cw$Diet <- as.character(cw$Diet)
write.csv(cw, "tests/reference/data/chickweight.csv", row.names = FALSE)
out$chick <- case(lmer(weight ~ Time * Diet + (Time | Chick), cw, control = ctrl), "Diet")
write_json(out, "tests/reference/inference.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
