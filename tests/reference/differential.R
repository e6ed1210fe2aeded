# Differential reference values (issue 11, item 7): R's answers on ~200 random trial-shaped
# data sets made by tests/reference/differential_data.py, replayed without R by
# tests/test_differential.py.
#
#   mixed_model      lme4::lmer (bobyqa, tight tolerances as lmm.R) + lmerTest summary():
#                    Satterthwaite or Kenward-Roger (pbkrtest) df; logLik, VarCorr, sigma,
#                    isSingular and lme4's convergence messages of every fit
#   paired_change    t.test(paired = TRUE) + d_z CI by inverting the noncentral t (uniroot on
#                    pt, as MBESS::conf.limits.nct; change.R)
#   ancova           lm(post ~ group + pre) + emmeans adjusted means
#   mixed_anova      afex::aov_ez on the subjects with every visit (type III, GG)
#   timepoint_corr   cor.test per visit (pearson, spearman exact = FALSE) + p.adjust(holm)
#   rm_corr          rmcorr's ANCOVA lm(y ~ factor(subject) + x), type III SS (correlation.R)
#   meta_analysis    metafor::escalc + rma (REML z / knha, DL, FE) on generated summaries
#   power_*          pwr::pwr.t.test, pwr::pwr.r.test
#
# Run from the repo root (after the generator): Rscript tests/reference/differential.R
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(pbkrtest); library(afex); library(emmeans)
  library(metafor); library(pwr); library(jsonlite); library(parallel)
})
afex_options(check_contrasts = TRUE)
emm_options(msg.interaction = FALSE)
dir <- Sys.getenv("DIFF_DIR", "tests/reference/data/differential")
all <- read.csv(file.path(dir, "datasets.csv"), na.strings = "",
                colClasses = c(dataset = "character", subject = "character",
                               visit = "character", group = "character"))
sets <- read.csv(file.path(dir, "sets.csv"), colClasses = c(dataset = "character"))
specs <- read.csv(file.path(dir, "specs.csv"), colClasses = c(dataset = "character",
                                                             random = "character"))
specs$reml <- as.logical(specs$reml)
stopifnot(!anyNA(specs$reml))
source("tests/reference/lme4_best.R")   # ctrl, err, crit, best_fit, lmm

# ------------------------------------------------------------------ pre/post analyses
nct_ci <- function(t, df, alpha = 0.05) {
  s <- sqrt(1 + t^2 / (2 * df)); iv <- c(t - 12 * s - 1, t + 12 * s + 1)
  lo <- uniroot(function(ncp) pt(t, df, ncp) - (1 - alpha / 2), iv, tol = 1e-13)$root
  hi <- uniroot(function(ncp) pt(t, df, ncp) - alpha / 2, iv, tol = 1e-13)$root
  c(lo, hi)
}
prepost <- function(d) {
  pre <- min(d$week); post <- max(d$week)
  a <- d[d$week == pre, c("subject", "group", "y")]
  b <- d[d$week == post, c("subject", "y")]
  w <- merge(a, b, by = "subject", suffixes = c(".pre", ".post"))
  w <- w[complete.cases(w$y.pre, w$y.post), ]
  w[order(w$subject), ]
}
paired <- function(w) {
  a <- w$y.pre; b <- w$y.post; n <- length(a)
  tt <- t.test(b, a, paired = TRUE)
  tv <- unname(tt$statistic); ci <- nct_ci(tv, n - 1)
  sav <- (sd(a) + sd(b)) / 2; J <- 1 - 3 / (8 * n - 9); sc <- sd(b - a) / (sav * sqrt(n))
  list(n = n, mean_pre = mean(a), mean_post = mean(b), mean_diff = mean(b - a),
       sd_diff = sd(b - a), t = tv, dof = unname(tt$parameter), pval = tt$p.value,
       ci_low = tt$conf.int[1], ci_high = tt$conf.int[2], dz = mean(b - a) / sd(b - a),
       dz_ci_low = ci[1] / sqrt(n), dz_ci_high = ci[2] / sqrt(n),
       hedges_g = J * mean(b - a) / sav, g_ci_low = J * ci[1] * sc, g_ci_high = J * ci[2] * sc,
       # R's pt() is exact (AS 243) only for |ncp| <= 37.62; beyond it uses an approximation
       nct_exact = max(abs(ci)) <= 37.62)
}
ancova <- function(w) {
  w$group <- relevel(factor(w$group), ref = "A")
  fit <- lm(y.post ~ group + y.pre, data = w)
  if (fit$df.residual < 1) stop("no residual degrees of freedom")
  s <- summary(fit)$coefficients; ci <- confint(fit)
  em <- summary(emmeans(fit, "group", nesting = NULL))
  list(estimate = s["groupB", 1], se = s["groupB", 2], t = s["groupB", 3],
       pval = s["groupB", 4], dof = fit$df.residual, ci_low = ci["groupB", 1],
       ci_high = ci["groupB", 2], n = nrow(w), emm_group = I(as.character(em$group)),
       emmean = I(em$emmean), emm_se = I(em$SE), emm_low = I(em$lower.CL),
       emm_high = I(em$upper.CL))
}
anova_tab <- function(d, has_group) {
  weeks <- sort(unique(d$week))
  ok <- tapply(!is.na(d$y), d$subject, sum) == length(weeks) &
        tapply(d$week, d$subject, function(v) length(unique(v))) == length(weeks)
  dd <- d[d$subject %in% names(ok)[ok] & !is.na(d$y), ]
  a <- suppressWarnings(suppressMessages(
    aov_ez("subject", "y", dd, between = if (has_group) "group" else NULL, within = "week")))
  t1 <- anova(a, correction = "none", es = "ges")
  if (any(t1[, "den Df"] < 1)) stop("no residual degrees of freedom")
  tg <- anova(a, correction = "GG", es = "ges")
  gg <- summary(a)$pval.adjustments
  eff <- rownames(t1)
  list(n_subjects = length(unique(dd$subject)), effect = I(eff), df1 = I(t1[, "num Df"]),
       df2 = I(t1[, "den Df"]), MSE = I(t1[, "MSE"]), F = I(t1[, "F"]),
       pval = I(t1[, "Pr(>F)"]), ges = I(t1[, "ges"]), pval_gg = I(tg[, "Pr(>F)"]),
       eps = I(sapply(eff, function(e)
         if (!is.null(gg) && e %in% rownames(gg)) gg[e, "GG eps"] else NA_real_)))
}
tcorr <- function(d, method) {
  rows <- lapply(sort(unique(d$week)), function(wk) {
    s <- d[d$week == wk & !is.na(d$x) & !is.na(d$y), ]; n <- nrow(s)
    r <- p <- lo <- hi <- NA_real_
    if (n >= 3) {
      ct <- cor.test(s$x, s$y, method = method, exact = FALSE)
      r <- unname(ct$estimate); p <- ct$p.value
      if (n >= 4) {
        se <- if (method == "pearson") 1 / sqrt(n - 3) else sqrt((1 + r^2 / 2) / (n - 3))
        lo <- tanh(atanh(r) - qnorm(0.975) * se); hi <- tanh(atanh(r) + qnorm(0.975) * se)
        if (method == "pearson") stopifnot(abs(lo - ct$conf.int[1]) < 1e-12)
      }
    }
    c(week = wk, n = n, r = r, pval = p, ci_low = lo, ci_high = hi)
  })
  m <- do.call(rbind, rows)
  holm <- rep(NA_real_, nrow(m)); ok <- !is.na(m[, "pval"])
  holm[ok] <- p.adjust(m[ok, "pval"], "holm")
  list(week = I(m[, "week"]), n = I(m[, "n"]), r = I(m[, "r"]), pval = I(m[, "pval"]),
       ci_low = I(m[, "ci_low"]), ci_high = I(m[, "ci_high"]), pval_holm = I(holm))
}
rmcorr <- function(d) {
  d <- d[complete.cases(d$x, d$y), ]
  f <- lm(y ~ factor(subject) + x, data = d)
  dr <- drop1(f, ~., test = "F")
  ssx <- dr["x", "Sum of Sq"]; ssr <- dr["<none>", "RSS"]
  r <- unname(sign(coef(f)["x"]) * sqrt(ssx / (ssx + ssr)))
  df <- f$df.residual; z <- atanh(r); se <- 1 / sqrt(df - 1)
  list(r = r, dof = df, pval = dr["x", "Pr(>F)"], ci_low = tanh(z - qnorm(0.975) * se),
       ci_high = tanh(z + qnorm(0.975) * se), n_obs = nrow(d),
       n_subjects = length(unique(d$subject)))
}

one_set <- function(id) {
  d <- all[all$dataset == id, ]
  info <- sets[sets$dataset == id, ]
  has_group <- isTRUE(as.logical(info$has_group))
  out <- list(n = info$n, has_group = has_group)
  sp <- specs[specs$dataset == id, ]
  out$lmm <- lapply(split(sp, sp$key), function(s) tryCatch(lmm(d, s), error = err))
  w <- prepost(d)
  out$paired <- tryCatch(paired(w), error = err)
  if (has_group) {
    out$paired_group <- lapply(c(A = "A", B = "B"), function(g)
      tryCatch(paired(w[w$group == g, ]), error = err))
    out$ancova <- tryCatch(ancova(w), error = err)
  }
  out$anova <- tryCatch(anova_tab(d, has_group), error = err)
  out$tcorr <- list(pearson = tryCatch(tcorr(d, "pearson"), error = err),
                    spearman = tryCatch(tcorr(d, "spearman"), error = err))
  out$rmcorr <- tryCatch(rmcorr(d), error = err)
  out
}
ids <- sets$dataset
if (nzchar(Sys.getenv("DIFF_ONLY"))) ids <- strsplit(Sys.getenv("DIFF_ONLY"), ",")[[1]]  # debugging
res <- mclapply(ids, one_set, mc.cores = 2)
names(res) <- ids

# ------------------------------------------------------------------ meta-analysis
mt <- read.csv(file.path(dir, "meta.csv"))
mctl <- list(threshold = 1e-12, maxiter = 1000)
rma_out <- function(e, m, test) {
  r <- rma(yi, vi, data = e, method = m, test = test, control = mctl)
  p <- predict(r)
  list(estimate = as.numeric(r$b), se = r$se, stat = r$zval, pval = r$pval,
       ci_low = r$ci.lb, ci_high = r$ci.ub,
       pi_low = if (is.null(p$pi.lb)) p$ci.lb else p$pi.lb,
       pi_high = if (is.null(p$pi.ub)) p$ci.ub else p$pi.ub,
       tau2 = r$tau2, i2 = r$I2, h2 = r$H2, q = r$QE, q_pval = r$QEp, k = r$k,
       weights = I(as.numeric(weights(r))))
}
meta <- lapply(split(mt, mt$meta), function(s) {
  o <- list(k = nrow(s))
  for (m in c("SMD", "MD")) {
    e <- escalc(measure = m, m1i = m1, sd1i = sd1, n1i = n1, m2i = m2, sd2i = sd2, n2i = n2,
                data = s)
    o$escalc[[m]] <- list(yi = I(as.numeric(e$yi)), vi = I(as.numeric(e$vi)))
    fits <- if (m == "SMD") list(REML_z = c("REML", "z"), REML_knha = c("REML", "knha"),
                                 DL_z = c("DL", "z"), FE_z = c("FE", "z"))
            else list(REML_z = c("REML", "z"))
    o$rma[[m]] <- lapply(fits, function(a) tryCatch(rma_out(e, a[1], a[2]), error = err))
  }
  o
})

# ------------------------------------------------------------------ power (pwr)
pw <- read.csv(file.path(dir, "power.csv"), na.strings = "")
power <- lapply(seq_len(nrow(pw)), function(i) {
  c <- pw[i, ]
  val <- switch(c$kind,
    t = pwr.t.test(d = c$es, n = c$n, type = c$type, alternative = c$alternative)$power,
    r = pwr.r.test(r = c$es, n = c$n, alternative = c$alternative)$power,
    t_n = pwr.t.test(d = c$es, power = c$power, type = c$type, alternative = c$alternative)$n,
    r_n = pwr.r.test(r = c$es, power = c$power, alternative = c$alternative)$n)
  list(kind = c$kind, es = c$es, n = c$n, power = c$power, alternative = c$alternative,
       type = if (is.na(c$type)) "" else c$type, value = val)
})

# one line per data set / meta-analysis / power call: diffable, and a third of the size of
# pretty-printed JSON
js <- function(x) toJSON(x, digits = NA, auto_unbox = TRUE, na = "null")
block <- function(name, x, named = TRUE) {
  items <- vapply(seq_along(x), function(i) paste0(
    "  ", if (named) paste0(js(names(x)[i]), ": ") else "", js(x[[i]])), "")
  paste0(" ", js(name), ": ", if (named) "{" else "[", "\n",
         paste(items, collapse = ",\n"), "\n ", if (named) "}" else "]")
}
head <- list(generated_by = "tests/reference/differential.R", r_version = R.version.string,
             packages = lapply(c(lme4 = "lme4", lmerTest = "lmerTest", pbkrtest = "pbkrtest",
                                 afex = "afex", emmeans = "emmeans", metafor = "metafor",
                                 pwr = "pwr"), function(p) as.character(packageVersion(p))))
txt <- paste0("{\n", paste(c(
  vapply(names(head), function(k) paste0(" ", js(k), ": ", js(head[[k]])), ""),
  block("datasets", res), block("meta", meta), block("power", power, named = FALSE)),
  collapse = ",\n"), "\n}\n")
writeLines(txt, Sys.getenv("DIFF_OUT", "tests/reference/differential.json"), sep = "")
