# Differential reference values for the other mixed-model paths (uncorrelated slopes, three
# random effects, a limb level nested in subject, F-tests, estimated marginal means,
# contrasts and likelihood-ratio tests) on the random trial-shaped data sets made by
# tests/reference/differential_paths_data.py; replayed without R by
# tests/test_differential_paths.py.
#
#   lmm     lme4::lmer, the best of four optimisers and the boundary (lme4_best.R), with
#           lmerTest's summary(): Satterthwaite or Kenward-Roger (pbkrtest) df
#   infer   the same best fit; lmerTest anova (type III and I; Satterthwaite, KR), emmeans
#           (lmer.df satterthwaite / kenward-roger), pairs / trt.vs.ctrl / consec with Holm,
#           Tukey, Bonferroni or none
#   lrt     both models refitted by ML (best fits), lme4's anova(m0, m1) statistics:
#           npar, AIC, BIC, logLik, deviance, Chisq = 2 (logLik1 - logLik0), Df, Pr(>Chisq)
#
# Run from the repo root (after the generator): Rscript tests/reference/differential_paths.R
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(pbkrtest); library(emmeans); library(jsonlite)
  library(parallel)
})
emm_options(msg.interaction = FALSE, lmerTest.limit = 1e6, pbkrtest.limit = 1e6)
source("tests/reference/lme4_best.R")   # ctrl, err, crit, best_fit, lmm
dir <- Sys.getenv("PATHS_DIR", "tests/reference/data/differential_paths")
all <- read.csv(file.path(dir, "datasets.csv"), na.strings = "",
                colClasses = c(dataset = "character", subject = "character",
                               visit = "character", group = "character"))
limbs <- read.csv(file.path(dir, "limbs.csv"), colClasses = c(dataset = "character",
                                                             subject = "character"))
specs <- read.csv(file.path(dir, "specs.csv"), na.strings = character(0),
                  colClasses = "character")
specs$reml <- as.logical(specs$reml)
stopifnot(!anyNA(specs$reml))

tab <- function(a) {
  a <- as.data.frame(a)
  list(term = I(rownames(a)), sum_sq = I(a[["Sum Sq"]]), num_df = I(a[["NumDF"]]),
       den_df = I(a[["DenDF"]]), F = I(a[["F value"]]), pval = I(a[["Pr(>F)"]]))
}
as_lists <- function(s) {
  names(s)[names(s) == "lower.CL"] <- "ci_low"; names(s)[names(s) == "upper.CL"] <- "ci_high"
  names(s)[names(s) == "p.value"] <- "pval"; names(s)[names(s) == "t.ratio"] <- "t"
  lapply(s, function(x) I(if (is.factor(x)) as.character(x) else x))
}
emm_tab <- function(e) as_lists(as.data.frame(summary(e)))
con_tab <- function(cn) as_lists(as.data.frame(summary(cn, infer = c(TRUE, TRUE))))

fit_info <- function(b) list(loglik = as.numeric(logLik(b$fit)), singular = isSingular(b$fit),
                             optimizer = b$best_name)
infer <- function(d, sp) {
  f <- as.formula(paste0(sp$formula, " + ", sp$re))
  b <- best_fit(f, d, TRUE)
  fit <- b$fit
  kr <- sp$ddf == "kenward-roger"
  out <- fit_info(b)
  q <- function(x) suppressWarnings(suppressMessages(x))
  an <- function(type, ddf) {
    st <- function(x) tab(anova(x, type = type, ddf = ddf))
    c(q(st(fit)), spread_range(b, st, c("den_df", "F", "pval")))
  }
  out$anova3_sat <- an(3, "Satterthwaite")
  out$anova1_sat <- an(1, "Satterthwaite")
  if (kr) out$anova3_kr <- an(3, "Kenward-Roger")
  if (nzchar(sp$specs)) {
    fs <- as.formula(if (nzchar(sp$by)) paste("~", sp$specs, "|", sp$by) else paste("~", sp$specs))
    e <- q(emmeans(fit, fs, data = d, lmer.df = "satterthwaite"))
    out$emm_sat <- emm_tab(e)
    out$pairs_holm_sat <- con_tab(pairs(e, adjust = "holm"))
    out$pairs_tukey_sat <- con_tab(pairs(e, adjust = "tukey"))
    out$trt_holm_sat <- con_tab(contrast(e, "trt.vs.ctrl", adjust = "holm"))
    out$consec_bonf_sat <- con_tab(contrast(e, "consec", adjust = "bonferroni"))
    if (kr) {
      ek <- q(emmeans(fit, fs, data = d, lmer.df = "kenward-roger"))
      out$emm_kr <- emm_tab(ek)
      out$pairs_none_kr <- con_tab(pairs(ek, adjust = "none"))
    }
  }
  out
}
lrt <- function(d, sp) {
  b0 <- best_fit(as.formula(paste0(sp$formula0, " + ", sp$re)), d, FALSE)
  b1 <- best_fit(as.formula(paste0(sp$formula, " + ", sp$re)), d, FALSE)
  one <- function(b) c(npar = attr(logLik(b$fit), "df"), aic = AIC(b$fit), bic = BIC(b$fit),
                       loglik = as.numeric(logLik(b$fit)), deviance = deviance(b$fit))
  a <- rbind(one(b0), one(b1))
  chisq <- 2 * (a[2, "loglik"] - a[1, "loglik"])
  df <- a[2, "npar"] - a[1, "npar"]
  list(npar = I(a[, "npar"]), aic = I(a[, "aic"]), bic = I(a[, "bic"]),
       loglik = I(a[, "loglik"]), deviance = I(a[, "deviance"]), chisq = chisq, df = df,
       pval = pchisq(chisq, df, lower.tail = FALSE),
       singular = I(c(isSingular(b0$fit), isSingular(b1$fit))))
}

one_set <- function(id) {
  d <- all[all$dataset == id, ]
  lb <- limbs[limbs$dataset == id, ]
  sp <- specs[specs$dataset == id, ]
  out <- lapply(split(sp, sp$key), function(s) tryCatch(switch(s$kind,
    lmm = lmm(if (s$key == "nest") lb else d, s),
    infer = infer(d, s),
    lrt = lrt(d, s)), error = err))
  out
}
ids <- sort(unique(specs$dataset))
if (nzchar(Sys.getenv("PATHS_ONLY"))) ids <- strsplit(Sys.getenv("PATHS_ONLY"), ",")[[1]]
res <- mclapply(ids, one_set, mc.cores = 2)
names(res) <- ids
js <- function(x) toJSON(x, digits = NA, auto_unbox = TRUE, na = "null")
head <- list(generated_by = "tests/reference/differential_paths.R", r_version = R.version.string,
             packages = lapply(c(lme4 = "lme4", lmerTest = "lmerTest", pbkrtest = "pbkrtest",
                                 emmeans = "emmeans"),
                               function(p) as.character(packageVersion(p))))
items <- vapply(ids, function(k) paste0("  ", js(k), ": ", js(res[[k]])), "")
txt <- paste0("{\n", paste(c(
  vapply(names(head), function(k) paste0(" ", js(k), ": ", js(head[[k]])), ""),
  paste0(' "datasets": {\n', paste(items, collapse = ",\n"), "\n }")), collapse = ",\n"), "\n}\n")
writeLines(txt, Sys.getenv("PATHS_OUT", "tests/reference/differential_paths.json"), sep = "")
