# MMRM reference values (issue 18): R's mmrm on the trial-shaped data sets made by
# tests/reference/mmrm_data.py, replayed without R by tests/test_mmrm_reference.py.
#
# R 4.2.2, mmrm 0.3.18 (built from openpharma/mmrm's source: git archive + R CMD INSTALL),
# TMB 1.9.2 from Debian (mmrm warns that it was built against TMB < 1.9.15; that matters
# only at rounding level), emmeans 1.8.4.1 and jsonlite 1.8.4 from Debian. The versions
# used are written into the JSON header.
#
# Run from the repo root, after the generator:
#   Rscript tests/reference/mmrm.R
# Runtime: 4.7 minutes on 2 cores shared with other jobs (load ~8) for the committed batch
# (64 sets, 238 models, of which the 5,000-subject unstructured KR fit takes ~2 minutes);
# about 1 s per small model. (Rscript reads its file as it runs: do not edit the script
# while it runs; run a copy.)
# A held-out batch: MMRM_DIR=<folder> MMRM_OUT=<folder>/mmrm.json Rscript tests/reference/mmrm.R
# MMRM_ONLY=m000,m001 fits only those sets (debugging); MMRM_CORES sets the cores (2).
#
# Per model (specs.csv): mmrm(<formula_r> + <cov>(visit | subject), reml, method, vcov), or
# <cov>(visit | group / subject) for a covariance per arm. `visit` is a factor whose levels
# are the post-baseline visits in increasing order (a plain factor with ordered levels, not
# an R `ordered` factor, which would get polynomial contrasts). df methods: hipstats'
# "satterthwaite" = method "Satterthwaite" (vcov "Asymptotic"), "kenward-roger" =
# "Kenward-Roger" (vcov "Kenward-Roger"), "kenward-roger-linear" = method "Kenward-Roger"
# with vcov "Kenward-Roger-Linear", "residual" = method "Residual", whose default vcov in
# mmrm is "Empirical" (the CR0 sandwich) with df = nobs - p; the vcov used is recorded.
#
# Polishing. mmrm's default fit (L-BFGS-B, then other optimizers if that fails) stops
# early. Every model is therefore fitted twice: the default fit (kept as `default`: its
# theta, estimates, SEs, df, log-likelihood, and max |gradient|), then mmrm() again with
# start = the default theta and one custom optimizer (mmrm's documented `optimizers`
# interface, with use_hessian = TRUE): nlminb with tight tolerances, then Newton steps on
# TMB's exact gradient and Hessian of the objective until max |gradient| is ~1e-10 (or
# cannot be reduced further). mmrm itself then computes everything at the polished theta:
# beta, its covariance (KR-adjusted by h_var_adj, or the empirical sandwich), jac_list for
# Satterthwaite, df, Anova, emmeans. The polished fit is the reference.
#
# Recorded per model: fixed effects by R's term name (estimate, se, df, t, p, 95% CI),
# covariance matrix (visits x visits; per arm when grouped), theta (mmrm's
# parameterisation: log SDs, then the structure's unconstrained correlation parameters;
# per group in group order), log-likelihood (REML's restricted one under REML), AIC and BIC
# (mmrm counts only the covariance parameters, for REML and ML; BIC uses log(subjects)),
# nobs, n_subjects; type III F tests (mmrm:::Anova.mmrm, type = "III": num_df, den_df, F,
# p); emmeans(~ group | visit); contrasts trt.vs.ctrl (Holm), pairwise (Tukey and none),
# consec (Bonferroni), each with estimate, SE, df, t, p and the CI emmeans reports with
# that adjustment (Holm's CIs are Bonferroni-adjusted).
#
# emmeans grid: mmrm's emmeans support averages covariates over the rows of the data it
# re-reads, which include rows whose outcome is missing. hipstats averages over the
# ANALYSED rows (outcome, baseline and covariates all present), so here every numeric
# covariate is fixed by `at =` to its mean over the analysed rows (row-weighted, as
# emmeans on lm/lmer does).
#
# Results of the committed batch (see the report in the commit log): 235 of 238 models
# fitted (3 that no mmrm optimizer could fit are recorded as errors), 234 converged (one
# unstructured fit runs off to a correlation of 1), 232 located to 1e-6 in theta. mmrm's
# default fit stopped up to 1.2e-3 SE (estimates), 1e-3 (SEs, df) and 1.3e-3 (log-lik)
# from the polished optimum: 93 of the 234 had an estimate more than 1e-5 SE away.
# mmrm's non-linear Kenward-Roger ("Kenward-Roger" vcov) on a one-visit model gives SEs
# ~1/(2(n - p)) below the ANCOVA's (0.5% at n - p = 100); "Kenward-Roger-Linear" equals it.
#
# One post-baseline visit (sets a*): MMRM with a 1 x 1 unstructured covariance is the
# baseline-adjusted ANCOVA; lm(y ~ y_bl (+ age) + group) on the analysed rows is recorded
# beside it (coefficients, sigma^2, df, REML and ML log-likelihood, emmeans, trt.vs.ctrl).
suppressPackageStartupMessages({
  library(mmrm); library(emmeans); library(jsonlite); library(parallel)
})
emm_options(msg.interaction = FALSE, msg.nesting.d = FALSE)
t_start <- Sys.time()
dir <- Sys.getenv("MMRM_DIR", "tests/reference/data/mmrm")
all <- read.csv(file.path(dir, "datasets.csv"), na.strings = "",
                colClasses = c(set = "character", subject = "character",
                               group = "character", visit = "integer"))
specs <- read.csv(file.path(dir, "specs.csv"),
                  colClasses = c(set = "character", key = "character"))
specs$reml <- as.logical(specs$reml)
specs$group_cov <- as.logical(specs$group_cov)
stopifnot(!anyNA(specs$reml), !anyNA(specs$group_cov))

METHODS <- list(
  "satterthwaite" = c(method = "Satterthwaite", vcov = "Asymptotic"),
  "kenward-roger" = c(method = "Kenward-Roger", vcov = "Kenward-Roger"),
  "kenward-roger-linear" = c(method = "Kenward-Roger", vcov = "Kenward-Roger-Linear"),
  "residual" = c(method = "Residual", vcov = "Empirical"))

err <- function(e) list(error = conditionMessage(e))
maxgrad <- function(fit) max(abs(as.numeric(fit$tmb_object$gr(fit$theta_est))))

# ------------------------------------------------------------------ polishing optimizer
source("tests/reference/mmrm_polish.R")   # polish, polish_opt

# ------------------------------------------------------------------ exact log-likelihood
# mmrm's objective is computed from y' V^-1 y minus the fitted part: with outcomes far from
# 0 in SD units (offsets of 1000 SD here) it carries rounding noise far above double
# precision (1e-3 absolute on the 5,000-subject set, fn ~ 1e5). The reference
# log-likelihood is therefore recomputed at the polished theta from mmrm's own covariance
# matrices by whitening each subject (Cholesky) and a QR least-squares fit (residuals to
# double precision): the same function, computed stably. mmrm's own value is kept as
# loglik_mmrm; the GLS coefficients of this computation are compared with mmrm's
# (gls_beta_check: max |difference| / SE).
exact_loglik <- function(fit) {
  ff <- fit$tmb_data$full_frame; fp <- fit$formula_parts
  X <- fit$tmb_data$x_matrix; y <- fit$tmb_data$y_vector
  s <- as.character(ff[[fp$subject_var]]); v <- as.character(ff[[fp$visit_var]])
  g <- if (length(fp$group_var)) as.character(ff[[fp$group_var]]) else NULL
  cv <- fit$cov
  Xw <- X; yw <- y; logdet <- 0
  for (idx in split(seq_along(y), factor(s, levels = unique(s)))) {
    S <- if (is.list(cv)) cv[[g[idx[1]]]] else cv
    L <- t(chol(S[v[idx], v[idx], drop = FALSE]))
    Xw[idx, ] <- forwardsolve(L, X[idx, , drop = FALSE])
    yw[idx] <- forwardsolve(L, y[idx])
    logdet <- logdet + 2 * sum(log(diag(L)))
  }
  q <- qr(Xw); rss <- sum(qr.resid(q, yw)^2)
  N <- length(y); p <- ncol(X)
  list(ml = -0.5 * (N * log(2 * pi) + logdet + rss),
       reml = -0.5 * ((N - p) * log(2 * pi) + logdet + 2 * sum(log(abs(diag(qr.R(q))))) +
                        rss),
       beta = qr.coef(q, yw))
}

# ------------------------------------------------------------------ type III tests
# mmrm:::Anova.mmrm(type = "III") maps its contr.sum hypotheses to the fitted (treatment)
# coding with solve(crossprod(N), crossprod(N, X)), which fails ("computationally
# singular") when a covariate sits far from 0 (age ~ 1e4 here). Then the same hypotheses
# are formed with the equivalent least-squares solution by QR (qr.coef(qr(N), X)) and
# tested with mmrm's df_md, exactly as Anova.mmrm does (recorded: stable_solve = TRUE).
# On models where both work they agree (anova_check: max relative difference of F).
type3_stable <- function(object, tol = sqrt(.Machine$double.eps)) {
  cs <- mmrm:::h_contr_sum_type3_contrasts(object)
  X <- component(object, "x_matrix")
  oc <- attr(X, "contrasts")
  if (length(oc) == 0L || all(vapply(oc, identical, logical(1L), "contr.sum"))) return(cs)
  nc <- oc; nc[] <- "contr.sum"
  N <- stats::model.matrix(object, data = component(object, "full_frame"), contrasts = nc)
  al <- component(object, "beta_aliased")
  if (any(al)) N <- N[, !al, drop = FALSE]
  corr <- qr.coef(qr(N), X)
  lapply(cs, function(m) { r <- m %*% corr; r[abs(r) < tol] <- 0; r })
}
anova3 <- function(fit) {
  a <- tryCatch(mmrm:::Anova.mmrm(fit, type = "III"), error = function(e) e)
  vars <- colnames(attr(terms(fit$formula_parts$model_formula), "factors"))
  cons <- type3_stable(fit)
  cons <- cons[intersect(vars, names(cons))]
  b <- do.call(rbind.data.frame, lapply(cons, df_md, object = fit))
  colnames(b) <- c("Df", "Res.Df", "F", "Pr(>F)")
  rownames(b) <- names(cons)
  stable <- inherits(a, "error")
  out <- if (stable) b else a
  list(term = I(rownames(out)), num_df = I(out[, "Df"]), den_df = I(out[, "Res.Df"]),
       F = I(out[, "F"]), pval = I(out[, "Pr(>F)"]), stable_solve = stable,
       mmrm_error = if (stable) conditionMessage(a) else NULL,
       anova_check = if (stable) NULL else max(abs(b[, "F"] - a[, "F"]) / abs(a[, "F"])))
}

# ------------------------------------------------------------------ one model
prep <- function(d) {
  d$visit <- factor(d$visit, levels = sort(unique(d$visit)))   # post-baseline visits
  d$group <- factor(d$group, levels = sort(unique(d$group)))   # "A" is the reference
  d$subject <- factor(d$subject)
  d
}

coef_tab <- function(fit) {
  s <- summary(fit)$coefficients
  ci <- confint(fit)
  list(term = I(rownames(s)), estimate = I(unname(s[, "Estimate"])),
       se = I(unname(s[, "Std. Error"])), df = I(unname(s[, "df"])),
       t = I(unname(s[, "t value"])), pval = I(unname(s[, "Pr(>|t|)"])),
       ci_low = I(unname(ci[rownames(s), 1])), ci_high = I(unname(ci[rownames(s), 2])))
}

emm_tab <- function(s, cols) {
  s <- as.data.frame(s)
  out <- lapply(cols, function(k) if (is.factor(s[[k]])) I(as.character(s[[k]]))
                else I(s[[k]]))
  names(out) <- names(cols)
  out
}

fit_model <- function(d, sp) {
  m <- METHODS[[sp$df_method]]
  stopifnot(!is.null(m))
  sub <- if (sp$group_cov) "group / subject" else "subject"
  fml <- as.formula(sprintf("%s + %s(visit | %s)", sp$formula_r, sp$cov, sub))
  uses_age <- grepl("age", sp$formula_r)
  need <- c("y", "y_bl", if (uses_age) "age")
  ana <- d[complete.cases(d[, need]), ]         # the analysed rows
  one_visit <- nlevels(droplevels(ana$visit)) < 2
  out <- list(formula_r = deparse(fml, width.cutoff = 500L), cov = sp$cov,
              group_cov = sp$group_cov, reml = sp$reml, df_method = sp$df_method,
              r_method = m[["method"]], r_vcov = m[["vcov"]])
  t0 <- Sys.time()
  # default fit, as a user would run it
  f0 <- tryCatch(
    withCallingHandlers(
      mmrm(fml, data = d, reml = sp$reml, method = m[["method"]], vcov = m[["vcov"]]),
      warning = function(w) invokeRestart("muffleWarning")),
    error = function(e) e)
  if (inherits(f0, "error")) {
    out$default <- list(error = conditionMessage(f0))
    start <- NULL
  } else {
    s0 <- summary(f0)$coefficients
    out$default <- list(converged = isTRUE(attr(f0, "converged")),
                        optimizer = component(f0, "optimizer"),
                        loglik = as.numeric(logLik(f0)), theta = I(f0$theta_est),
                        max_gradient = maxgrad(f0), estimate = I(unname(s0[, "Estimate"])),
                        se = I(unname(s0[, "Std. Error"])), df = I(unname(s0[, "df"])))
    start <- f0$theta_est
  }
  t1 <- Sys.time()
  # polished fit
  ctrl <- mmrm_control(method = m[["method"]], vcov = m[["vcov"]], optimizers = polish_opt,
                       start = start)
  fit <- withCallingHandlers(mmrm(fml, data = d, reml = sp$reml, control = ctrl),
                             warning = function(w) {
                               out$polish_warnings <<- c(out$polish_warnings,
                                                         conditionMessage(w))
                               invokeRestart("muffleWarning")
                             })
  cv <- fit$cov
  visits <- levels(droplevels(ana$visit))
  mat <- function(x) I(unname(x))
  out <- c(out, list(
    polish_message = component(fit, "conv_message"),
    max_gradient = maxgrad(fit),
    # distance to the optimum that is left: max |H^-1 gradient| in theta
    newton_step = tryCatch(max(abs(solve(fit$tmb_object$he(fit$theta_est),
                                         as.numeric(fit$tmb_object$gr(fit$theta_est))))),
                           error = function(e) NA_real_),
    loglik_mmrm = as.numeric(logLik(fit)), aic_mmrm = AIC(fit), bic_mmrm = BIC(fit),
    nobs = component(fit, "n_obs"), n_subjects = component(fit, "n_subjects"),
    n_theta = component(fit, "n_theta"), theta = I(fit$theta_est),
    visits = I(visits),
    covariance = if (is.list(cv)) lapply(cv, mat) else mat(cv),
    fixed = coef_tab(fit)))
  ex <- exact_loglik(fit)
  k <- component(fit, "n_theta")
  out$loglik <- if (sp$reml) ex$reml else ex$ml
  out$aic <- -2 * out$loglik + 2 * k
  out$bic <- -2 * out$loglik + log(component(fit, "n_subjects")) * k
  out$gls_beta_check <- max(abs(ex$beta - fit$beta_est) / sqrt(diag(fit$beta_vcov)))
  # theta covariance positive definite at the polished optimum (mmrm's own check)
  out$theta_vcov_pd <- tryCatch(all(eigen(fit$theta_vcov, only.values = TRUE)$values > 0),
                                error = function(e) FALSE)
  # converged: the polished optimum is a strict local maximum (mmrm's own check on
  # theta_vcov, positive definite) located to 1e-3 in theta (a fit running off to a
  # boundary, e.g. a correlation -> 1, leaves a Newton step of order 1 or more).
  # precise: located to 1e-6 in theta (mmrm's rounding noise can stop the polish earlier
  # on ill-conditioned designs; the test then widens its tolerances).
  # mmrm's flag for its default fit is default$converged.
  out$converged <- isTRUE(out$theta_vcov_pd) && isTRUE(out$newton_step < 1e-3) &&
    is.null(out$polish_warnings)
  out$precise <- out$converged && out$newton_step < 1e-6
  # type III F tests
  out$anova <- tryCatch(anova3(fit), error = err)
  # emmeans on the analysed rows' covariate means (see the header)
  at <- list(y_bl = mean(ana$y_bl))
  if (uses_age) at$age <- mean(ana$age)
  out$emm_at <- at
  spec <- if (one_visit) ~ group else ~ group | visit
  emm <- tryCatch(emmeans(fit, spec, at = at), error = function(e) e)
  if (inherits(emm, "error")) {
    out$emmeans <- list(error = conditionMessage(emm))
  } else {
    cols_e <- c(group = "group", visit = "visit", emmean = "emmean", se = "SE", df = "df",
                ci_low = "lower.CL", ci_high = "upper.CL")
    if (one_visit) cols_e <- cols_e[names(cols_e) != "visit"]
    out$emmeans <- emm_tab(summary(emm), cols_e)
    cols_c <- c(contrast = "contrast", visit = "visit", estimate = "estimate", se = "SE",
                df = "df", t = "t.ratio", pval = "p.value", ci_low = "lower.CL",
                ci_high = "upper.CL")
    if (one_visit) cols_c <- cols_c[names(cols_c) != "visit"]
    ngroups <- nlevels(ana$group)
    todo <- list(trt.vs.ctrl_holm = c("trt.vs.ctrl", "holm"),
                 pairwise_tukey = c("pairwise", "tukey"),
                 pairwise_none = c("pairwise", "none"),
                 consec_bonferroni = c("consec", "bonferroni"))
    out$contrasts <- lapply(todo, function(a) tryCatch({
      cc <- contrast(emm, a[1], adjust = a[2])
      s <- summary(cc, infer = c(TRUE, TRUE), adjust = a[2])
      c(list(method = a[1], adjust = a[2],
             # the adjustment emmeans actually applied to p-values and CIs
             adjust_used = I(unique(as.character(attr(s, "mesg"))))),
        emm_tab(s, cols_c))
    }, error = err))
  }
  if (one_visit) {         # MMRM with one visit = baseline-adjusted ANCOVA
    lf <- lm(as.formula(sp$formula_r), data = ana)
    sl <- summary(lf)$coefficients
    ci <- confint(lf)
    el <- summary(emmeans(lf, ~ group, at = at), infer = c(TRUE, TRUE))
    cl <- summary(contrast(emmeans(lf, ~ group, at = at), "trt.vs.ctrl", adjust = "holm"),
                  infer = c(TRUE, TRUE))
    out$lm <- list(term = I(rownames(sl)), estimate = I(unname(sl[, 1])),
                   se = I(unname(sl[, 2])), t = I(unname(sl[, 3])), pval = I(unname(sl[, 4])),
                   ci_low = I(unname(ci[, 1])), ci_high = I(unname(ci[, 2])),
                   df = lf$df.residual, sigma2 = summary(lf)$sigma^2,
                   loglik_ml = as.numeric(logLik(lf, REML = FALSE)),
                   loglik_reml = as.numeric(logLik(lf, REML = TRUE)),
                   emmeans = emm_tab(el, c(group = "group", emmean = "emmean", se = "SE",
                                          df = "df", ci_low = "lower.CL",
                                          ci_high = "upper.CL")),
                   trt_vs_ctrl = emm_tab(cl, c(contrast = "contrast", estimate = "estimate",
                                              se = "SE", df = "df", t = "t.ratio",
                                              pval = "p.value", ci_low = "lower.CL",
                                              ci_high = "upper.CL")))
  }
  out$seconds <- c(default = as.numeric(difftime(t1, t0, units = "secs")),
                   polished = as.numeric(difftime(Sys.time(), t1, units = "secs")))
  out
}

one_set <- function(id) {
  d <- prep(all[all$set == id, ])
  sp <- specs[specs$set == id, ]
  res <- lapply(seq_len(nrow(sp)), function(i) tryCatch(fit_model(d, sp[i, ]), error = err))
  names(res) <- sp$key
  res
}

ids <- unique(specs$set)
if (nzchar(Sys.getenv("MMRM_ONLY"))) ids <- strsplit(Sys.getenv("MMRM_ONLY"), ",")[[1]]
# large sets first, so that the two cores finish together
n_rows <- vapply(ids, function(i) sum(all$set == i), 0)
ids_run <- ids[order(-n_rows)]
res <- mclapply(ids_run, one_set, mc.cores = as.integer(Sys.getenv("MMRM_CORES", "2")),
                mc.preschedule = FALSE)
names(res) <- ids_run
res <- res[sort(ids)]
for (i in names(res)) if (inherits(res[[i]], "try-error")) res[[i]] <- list(error = res[[i]][1])

# one line per model: diffable
js <- function(x) toJSON(x, digits = NA, auto_unbox = TRUE, na = "null", null = "null")
models <- unlist(lapply(names(res), function(i) {
  r <- res[[i]]
  vapply(names(r), function(k) paste0("  ", js(paste0(i, "/", k)), ": ", js(r[[k]])), "")
}))
head <- list(generated_by = "tests/reference/mmrm.R", r_version = R.version.string,
             packages = lapply(c(mmrm = "mmrm", TMB = "TMB", emmeans = "emmeans",
                                 jsonlite = "jsonlite"),
                               function(p) as.character(packageVersion(p))),
             seconds = round(as.numeric(difftime(Sys.time(), t_start, units = "secs")), 1))
txt <- paste0("{\n", paste(c(
  vapply(names(head), function(k) paste0(" ", js(k), ": ", js(head[[k]])), ""),
  paste0(" \"models\": {\n", paste(models, collapse = ",\n"), "\n }")),
  collapse = ",\n"), "\n}\n")
writeLines(txt, Sys.getenv("MMRM_OUT", "tests/reference/mmrm.json"), sep = "")
cat(sprintf("%d models, %.1f s\n", length(models), head$seconds))
