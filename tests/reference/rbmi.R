# Reference-based multiple imputation reference values (issue 24, item 2): R's rbmi on the
# trials made by tests/reference/rbmi_data.py, replayed without R by
# tests/test_rbmi_reference.py.
#
# R 4.2.2, rbmi 1.5.2 and mmrm 0.3.18 (both built from their sources: git archive +
# R CMD INSTALL), TMB 1.9.2 and jsonlite from Debian. The versions used are written into
# the JSON header.
#
# Run from the repo root, after the generator:
#   Rscript tests/reference/rbmi.R
# Runtime: 14 minutes for the committed batch (30 trials, 2,307 MMRM fits) on 2 cores shared
# with other jobs (load ~7); 11 minutes at load ~5 (`seconds` in the JSON header). Two runs
# agree to 2e-11 relative. Rscript reads its file as it runs: do not edit the script while
# it runs; run a copy.
# A held-out batch: RBMI_DIR=<folder> RBMI_OUT=<folder>/rbmi.json Rscript tests/reference/rbmi.R
# RBMI_ONLY=r00,r01 runs only those cases (debugging); RBMI_CORES sets the cores (2).
#
# Per case (specs.json): the long data (every subject at every visit, y NA where missing;
# `week` a factor of the post-baseline visits in increasing order, `group` a factor with the
# reference arm first, `subject` a factor); vars = set_vars(subjid = "subject",
# visit = "week", outcome = "y", group = "group", covariates = covariates_r): rbmi's
# imputation model is y ~ group + week + <covariates_r> (e.g. y_bl*week + group*week, the
# column space of hipstats' "y ~ y_bl * C(week) + group * C(week)"), an MMRM with the case's
# covariance (`cov`, one covariance for all arms) by REML or ML (`reml`).
# ice: null -> data_ice = NULL (every missing value MAR); a strategy name -> data_ice built
# here: each participant whose last visits are missing gets one row, the first visit of
# that trailing run with the strategy (an intermittent gap before it stays MAR; a
# participant with no value at all has the event at the first visit); a file -> that file
# as data_ice. Methods: "jackknife" = method_condmean(type = "jackknife"), "bootstrap" =
# method_condmean(type = "bootstrap", n_samples) after set.seed(seed), "approxbayes" =
# method_approxbayes(n_samples) after set.seed(seed); draws(), impute(references = <the
# case's map>), then per analysis analyse(fun = ancova, delta = <file or NULL>,
# vars = <vars with the analysis covariates>, weights = <weights>) and pool() (bootstrap:
# pool(type = "percentile") and pool(type = "normal") both recorded).
#
# Polishing. rbmi fits every MMRM through its internal fit_mmrm (rbmi/R/mmrm.R), which
# calls mmrm() with mmrm's default optimizers; those stop early (estimates off by up to
# ~1e-3 SE). Here fit_mmrm is replaced (assignInNamespace) by the same function whose
# mmrm() call passes one custom optimizer (mmrm's `optimizers` control, use_hessian = TRUE):
# nlminb with tight tolerances, then Newton steps on TMB's exact gradient and Hessian until
# max |gradient| is ~1e-10 (tests/reference/mmrm.R's `polish`). Every fit (the full fit,
# every jackknife / bootstrap fit) goes through it; max |gradient| over the case's fits is
# recorded (`max_gradient`, `n_fits`). A fit the polish cannot make converge is retried
# from mmrm's default fit (counted in `n_refits`).
#
# One post-baseline visit (rbmi refuses it): computed here in plain R. The MMRM is then
# OLS: lm(y ~ <covariates_r>) on the observed MAR values; MAR imputes the participant's own
# prediction, JR/CR/CIR the prediction with the group set to its reference (an event at the
# only visit: rbmi then uses the reference distribution); observed values are kept; the
# jackknife refits the imputation model and the analysis leaving out each participant
# (sorted ids); pooled by rbmi's own pool() (an rbmi analysis object built from the
# results). The analysis is rbmi's own ancova() (two arms) or ancova_k below.
#
# Three arms (rbmi's ancova takes two): draws/impute by rbmi, the analysis by ancova_k: ONE
# lm(y ~ group + covariates) per visit over all arms; trt = each arm's coefficient (arm
# minus reference), lsm_ref/lsm_alt = rbmi's own lsmeans() with the group fixed at the
# reference / the arm (the requested weights); pooled by rbmi's pool(). ancova_k equals
# rbmi's ancova on two arms (checked on every two-arm analysis: `ancova_k_check`, the max
# difference over all estimates and SEs of the first imputed set, relative to the SE).
#
# Tipping points (rbmi has none): the delta added to every originally missing outcome of
# `arm` (all visits) at which the pooled treatment-effect p-value at `visit` (null: the
# last) equals alpha; the root nearest zero between 0 and the delta at which the pooled
# estimate is 0. Each imputed set's ANCOVA estimate is exactly linear in that delta (the
# imputation does not change, lm is linear in y), so the analysis runs at delta 0 and 1,
# every set's estimate at delta d is e0 + d (e1 - e0), and rbmi's jackknife pooling of those
# is scanned (2001 points from 0 to the zero-estimate delta) for the first sign change of
# p - alpha, then uniroot (tol 1e-12 of that range). The root is then checked through the
# full pipeline (analyse(delta = <template> x root) -> pool): `check_pval` is that p-value.
#
# Recorded per analysis, rows sorted by week, parameter, arm: parameter (trt, lsm_ref,
# lsm_alt), arm (the non-reference arm of the comparison; for lsm_ref too), week, est, se,
# lci, uci, pval (normal for jackknife, Rubin's rules with Barnard-Rubin df for approxbayes:
# also df, sd_b (the between-imputation SD), M and the Monte Carlo SEs of one run, from the
# spread of the imputed sets: mc_est = sd_b / sqrt(M); mc_se from the sampling variances of
# mean(se^2) (var(se^2) / M) and of var_b (2 var_b^2 / (M - 1)); mc_lci = mc_uci =
# sqrt(mc_est^2 + (t_q mc_se)^2); mc_t, of est / se, by the delta method. Two more runs with
# seeds seed + 1 and seed + 2 of the first analysis are recorded as `replicates`, a check of
# those SEs), bootstrap: est, percentile lci/uci/pval (pool's default) and normal
# se/lci/uci/pval.
suppressPackageStartupMessages({
  library(rbmi); library(mmrm); library(jsonlite); library(parallel)
})
t_start <- Sys.time()
dir <- Sys.getenv("RBMI_DIR", "tests/reference/data/rbmi")
out_path <- Sys.getenv("RBMI_OUT", "tests/reference/rbmi.json")
SPECS <- fromJSON(file.path(dir, "specs.json"), simplifyVector = FALSE)$cases

# ------------------------------------------------------------------ polishing optimizer
source("tests/reference/mmrm_polish.R")   # polish, polish_opt (as tests/reference/mmrm.R)

# fit statistics of the current case (each case runs in its own forked process)
FITS <- new.env()
reset_fits <- function() {
  FITS$max_gradient <- 0; FITS$max_newton <- 0; FITS$n <- 0L; FITS$refits <- 0L
  FITS$default_beta <- NULL; FITS$default_gradient <- NULL
}
reset_fits()

# rbmi's fit_mmrm (rbmi/R/mmrm.R, 1.5.2) with the polishing optimizer
fit_mmrm_polished <- function(designmat, outcome, subjid, visit, group,
                              cov_struct = c("us", "ad", "adh", "ar1", "ar1h", "cs", "csh",
                                             "toep", "toeph"),
                              REML = TRUE, same_cov = TRUE) {
  if (!is.factor(group)) {
    assert_that(is.character(group))
    group <- factor(group)
  }
  dat_mmrm <- as_mmrm_df(designmat = designmat, outcome = outcome, visit = visit,
                         subjid = subjid, group = ife(same_cov, NULL, group))
  frm_mmrm <- as_mmrm_formula(dat_mmrm, cov_struct)
  one <- function(start = NULL) eval_mmrm({
    mmrm::mmrm(formula = frm_mmrm, data = dat_mmrm, reml = REML,
               control = mmrm::mmrm_control(n_cores = 1, accept_singular = FALSE,
                                            optimizers = .polish_opt, start = start))
  })
  fit <- one()
  if (.fits$n == 0L && !fit$failed) {     # the case's first fit: how far is mmrm's default?
    f0 <- eval_mmrm({
      mmrm::mmrm(formula = frm_mmrm, data = dat_mmrm, reml = REML, n_cores = 1,
                 accept_singular = FALSE)
    })
    if (!f0$failed) {
      .fits$default_beta <- max(abs(f0$beta_est - fit$beta_est) / sqrt(diag(fit$beta_vcov)))
      .fits$default_gradient <- max(abs(as.numeric(f0$tmb_object$gr(f0$theta_est))))
    }
  }
  if (fit$failed) {                       # retry from mmrm's default fit
    f0 <- eval_mmrm({
      mmrm::mmrm(formula = frm_mmrm, data = dat_mmrm, reml = REML, n_cores = 1,
                 accept_singular = FALSE)
    })
    if (!f0$failed) {
      .fits$refits <- .fits$refits + 1L
      fit <- one(f0$theta_est)
    }
  }
  if (fit$failed) return(fit)
  th <- fit$theta_est
  g <- as.numeric(fit$tmb_object$gr(th))
  nstep <- tryCatch(max(abs(solve(fit$tmb_object$he(th), g))), error = function(e) Inf)
  .fits$max_gradient <- max(.fits$max_gradient, max(abs(g)))
  .fits$max_newton <- max(.fits$max_newton, nstep)
  .fits$n <- .fits$n + 1L
  params <- extract_params(fit)
  cov_param_names <- setdiff(names(params), "beta")
  params$failed <- fit$failed
  if (same_cov) {
    for (cov_param in cov_param_names) {
      assert_that(length(params[[cov_param]]) == 1)
      params[[cov_param]] <- replicate(length(levels(group)), params[[cov_param]][[1]],
                                       simplify = FALSE)
      names(params[[cov_param]]) <- levels(group)
    }
  }
  structure(params, cov_param_names = cov_param_names)
}
local({
  ns <- asNamespace("rbmi")
  e <- new.env(parent = ns)
  e$.polish_opt <- polish_opt
  e$.fits <- FITS
  environment(fit_mmrm_polished) <- e
  assignInNamespace("fit_mmrm", fit_mmrm_polished, ns = "rbmi")
})

# ------------------------------------------------------------------ k-arm analysis
# ONE lm(y ~ group + covariates) per visit over all arms; each arm against the reference
# (the first level); lsmeans by rbmi's own lsmeans() (group a factor here)
ancova_k <- function(data, vars, weights = "counterfactual") {
  outcome <- vars$outcome; group <- vars$group; visit <- vars$visit
  covs <- vars$covariates
  frm <- rbmi:::as_simple_formula(outcome, c(group, covs))
  res <- list()
  for (v in unique(as.character(data[[visit]]))) {
    dv <- data[data[[visit]] == v, ]
    dv <- dv[, c(rbmi:::extract_covariates(covs), outcome, group)]
    mod <- lm(frm, data = dv)
    arms <- levels(dv[[group]])
    lsm <- lapply(arms, function(a) {
      args <- list(model = mod, .weights = weights)
      args[[group]] <- a
      suppressMessages(do.call(rbmi:::lsmeans, args))
    })
    for (k in seq_along(arms)[-1]) {
      cn <- paste0(group, arms[k])
      res[[sprintf("trt_%s_%s", arms[k], v)]] <-
        list(est = coef(mod)[[cn]], se = sqrt(vcov(mod)[cn, cn]), df = df.residual(mod))
      res[[sprintf("lsm_ref_%s_%s", arms[k], v)]] <- lsm[[1]]
      res[[sprintf("lsm_alt_%s_%s", arms[k], v)]] <- lsm[[k]]
    }
  }
  res
}

# ------------------------------------------------------------------ helpers
read_case <- function(sp) {
  d <- read.csv(file.path(dir, sp$csv), na.strings = "",
                colClasses = c(subject = "character", group = "character",
                               sex = "character", week = "integer"))
  weeks <- sort(unique(d$week))
  d$week <- factor(as.character(d$week), levels = as.character(weeks))
  d$group <- factor(d$group, levels = unlist(sp$arms))
  d$subject <- factor(d$subject, levels = sort(unique(d$subject)))
  d$sex <- factor(d$sex, levels = c("F", "M"))
  d <- d[order(d$subject, d$week), ]
  rownames(d) <- NULL
  d
}

# rbmi's data_ice of the case (NULL: every missing value MAR)
build_ice <- function(sp, d) {
  if (is.null(sp$ice)) return(NULL)
  if (grepl("\\.csv$", sp$ice)) {
    ice <- read.csv(file.path(dir, sp$ice), colClasses = "character")
  } else {
    rows <- lapply(split(d, d$subject), function(s) {
      m <- is.na(s$y); k <- length(m)
      j <- k
      while (j > 0 && m[j]) j <- j - 1
      if (j == k) return(NULL)
      data.frame(subject = as.character(s$subject[1]), week = as.character(s$week[j + 1]),
                 strategy = sp$ice)
    })
    ice <- do.call(rbind, rows)
    if (is.null(ice)) return(NULL)
  }
  ice$week <- factor(ice$week, levels = levels(d$week))
  ice$subject <- factor(ice$subject, levels = levels(d$subject))
  ice$strategy <- as.character(ice$strategy)
  ice[order(ice$subject), ]
}

read_delta <- function(file, d) {
  if (is.null(file)) return(NULL)
  x <- read.csv(file.path(dir, file), colClasses = c(subject = "character",
                                                      week = "character"))
  x$week <- factor(x$week, levels = levels(d$week))
  x
}

parse_name <- function(nm, ref, arms) {
  m <- regmatches(nm, regexec("^(trt|lsm_ref|lsm_alt)_(.*)$", nm))[[1]]
  par <- m[2]; rest <- m[3]
  if (length(arms) > 2) {
    arm <- sub("_.*", "", rest); week <- sub("^[^_]+_", "", rest)
  } else {
    arm <- setdiff(arms, ref)[1]; week <- rest
  }
  list(parameter = par, arm = arm, week = as.integer(week))
}

sort_rows <- function(tab) {
  o <- order(tab$week, match(tab$parameter, c("trt", "lsm_ref", "lsm_alt")), tab$arm)
  lapply(tab, function(x) I(x[o]))
}

# pooled table of an rbmi analysis object
pool_table <- function(ana, arms, ref) {
  kind <- class(ana$results)[[1]]
  nms <- names(ana$results[[1]])
  meta <- lapply(nms, parse_name, ref = ref, arms = arms)
  tab <- list(parameter = vapply(meta, `[[`, "", "parameter"),
              arm = vapply(meta, `[[`, "", "arm"),
              week = vapply(meta, `[[`, 0L, "week"))
  get <- function(p, f) unname(vapply(nms, function(n) f(p$pars[[n]]), 0))
  if (kind == "bootstrap") {
    pp <- pool(ana, type = "percentile"); pn <- pool(ana, type = "normal")
    tab$est <- get(pp, function(x) x$est)
    tab$lci <- get(pp, function(x) x$ci[1]); tab$uci <- get(pp, function(x) x$ci[2])
    tab$pval <- get(pp, function(x) x$pvalue)
    tab$normal_se <- get(pn, function(x) x$se)
    tab$normal_lci <- get(pn, function(x) x$ci[1])
    tab$normal_uci <- get(pn, function(x) x$ci[2])
    tab$normal_pval <- get(pn, function(x) x$pvalue)
    stopifnot(all(tab$est == get(pn, function(x) x$est)))
  } else {
    p <- pool(ana)
    tab$est <- get(p, function(x) x$est); tab$se <- get(p, function(x) x$se)
    tab$lci <- get(p, function(x) x$ci[1]); tab$uci <- get(p, function(x) x$ci[2])
    tab$pval <- get(p, function(x) x$pvalue)
  }
  if (kind == "rubin") {
    M <- length(ana$results)
    mc <- lapply(nms, function(n) {
      ests <- vapply(ana$results, function(r) r[[n]]$est, 0)
      ses <- vapply(ana$results, function(r) r[[n]]$se, 0)
      v_com <- unique(vapply(ana$results, function(r) r[[n]]$df, 0))
      rr <- rbmi:::rubin_rules(ests, ses, v_com)
      var_b <- var(ests); se_t <- sqrt(rr$var_t)
      mc_est <- sqrt(var_b / M)
      mc_se <- sqrt(var(ses^2) / M + ((1 + 1 / M) * var_b)^2 * 2 / (M - 1)) / (2 * se_t)
      q <- qt(0.975, rr$df)
      tval <- mean(ests) / se_t
      c(df = rr$df, mc_est = mc_est, mc_se = mc_se,
        mc_lci = sqrt(mc_est^2 + (q * mc_se)^2), mc_uci = sqrt(mc_est^2 + (q * mc_se)^2),
        mc_t = sqrt((mc_est / se_t)^2 + (tval * mc_se / se_t)^2), sd_b = sqrt(var_b))
    })
    for (k in names(mc[[1]])) tab[[k]] <- vapply(mc, `[[`, 0, k)
    tab$M <- M
  }
  M <- tab$M; tab$M <- NULL
  out <- sort_rows(tab)
  if (!is.null(M)) out$M <- M
  out
}

# ------------------------------------------------------------------ one-visit pipeline
# returns list(results = function(delta, covs, weights) -> list of per-set results,
#              method = rbmi method object)
onevisit <- function(sp, d, ice) {
  refs <- unlist(sp$references)
  arms <- unlist(sp$arms)
  strat <- setNames(rep("MAR", nlevels(d$subject)), levels(d$subject))
  if (!is.null(ice)) strat[as.character(ice$subject)] <- ice$strategy
  d$strategy <- strat[as.character(d$subject)]
  d$is_mar <- d$strategy == "MAR"
  frm <- as.formula(paste("y ~", paste(unlist(sp$covariates_r), collapse = " + ")))
  impute_ids <- function(ids) {
    dd <- d[d$subject %in% ids, ]
    fit <- lm(frm, data = dd[!is.na(dd$y) & dd$is_mar, ])
    miss <- is.na(dd$y)
    if (any(miss & dd$strategy == "LMCF")) stop("LMCF cannot be adopted (one visit)")
    nd <- dd
    nd$group[!dd$is_mar] <- factor(refs[as.character(dd$group[!dd$is_mar])], levels = arms)
    pred <- predict(fit, newdata = nd)
    dd$y[miss] <- pred[miss]
    dd[, c("subject", "group", "week", "y", "y_bl", "sex", "age")]
  }
  ids <- levels(d$subject)
  sets <- c(list(impute_ids(ids)), lapply(seq_along(ids), function(i) impute_ids(ids[-i])))
  results <- function(delta, covs, weights) {
    vars <- set_vars(subjid = "subject", visit = "week", outcome = "y", group = "group",
                     covariates = covs)
    lapply(sets, function(s) {
      if (!is.null(delta)) {
        s <- rbmi:::apply_delta(s, delta[, c("subject", "week", "delta")],
                                group = c("subject", "week"), outcome = "y")
      }
      if (length(arms) == 2) suppressMessages(ancova(s, vars, weights = weights))
      else ancova_k(s, vars, weights = weights)
    })
  }
  list(results = results, method = method_condmean(type = "jackknife"),
       n_imputed = sum(is.na(d$y)))
}

as_ana <- function(results, method) {
  rbmi:::as_analysis(results = results, method = method, fun = ancova, fun_name = "ancova")
}

# ------------------------------------------------------------------ tipping point
tipping <- function(tp, results_fn, method, d, arms, ref, weights = "counterfactual") {
  arm <- tp$arm
  covs <- unlist(tp$covariates)
  visit <- if (is.null(tp$visit)) tail(levels(d$week), 1) else as.character(tp$visit)
  alpha <- tp$alpha
  miss <- d[is.na(d$y) & d$group == arm, c("subject", "week")]
  template <- data.frame(subject = as.character(miss$subject),
                         week = factor(as.character(miss$week), levels = levels(d$week)),
                         delta = 1)
  nm <- if (length(arms) == 2) sprintf("trt_%s", visit) else sprintf("trt_%s_%s", arm, visit)
  r0 <- results_fn(NULL, covs, weights)
  r1 <- results_fn(template, covs, weights)
  e0 <- vapply(r0, function(r) r[[nm]]$est, 0)
  e1 <- vapply(r1, function(r) r[[nm]]$est, 0)
  slope <- e1 - e0
  pooled <- function(dl) rbmi:::pool_internal.jackknife(list(est = e0 + dl * slope),
                                                         0.95, "two.sided", NULL, NULL)
  pfun <- function(dl) pooled(dl)$pvalue - alpha
  d_zero <- -e0[1] / slope[1]
  grid <- seq(0, d_zero, length.out = 2001)
  f <- vapply(grid, pfun, 0)
  out <- list(arm = arm, visit = as.integer(visit), alpha = alpha, parameter = nm,
              delta_zero_est = d_zero, pval_at_0 = f[1] + alpha, n_imputed = nrow(template))
  if (f[1] >= 0) {
    out$error <- "p-value at delta 0 is not below alpha"
    return(out)
  }
  k <- which(f >= 0)[1]
  root <- uniroot(pfun, c(grid[k - 1], grid[k]), tol = 1e-12 * abs(d_zero))$root
  pr <- pooled(root)
  # check through the full pipeline
  tmpl <- template; tmpl$delta <- root
  rc <- results_fn(tmpl, covs, weights)
  pc <- pool(as_ana(rc, method))$pars[[nm]]
  c(out, list(delta = root, est = pr$est, se = pr$se, pval = pr$pvalue,
              check_pval = pc$pvalue, check_est = pc$est))
}

# ------------------------------------------------------------------ one case
run_case <- function(id) {
  reset_fits()
  t0 <- Sys.time()
  sp <- SPECS[[id]]
  d <- read_case(sp)
  ice <- build_ice(sp, d)
  arms <- unlist(sp$arms); ref <- sp$reference
  stopifnot(arms[1] == ref)
  out <- list(method = sp$method, cov = sp$cov, reml = sp$reml,
              n_subjects = nlevels(d$subject), n_visits = nlevels(d$week),
              n_missing = sum(is.na(d$y)),
              n_ice = if (is.null(ice)) 0L else nrow(ice),
              ice_strategies = if (is.null(ice)) setNames(list(), character(0)) else
                as.list(table(ice$strategy)))
  one_visit <- nlevels(d$week) == 1
  if (one_visit) {
    stopifnot(sp$method == "jackknife")
    ov <- onevisit(sp, d, ice)
    results_fn <- ov$results
    method <- ov$method
    out$engine <- "plain R (one visit)"
  } else {
    vars <- set_vars(subjid = "subject", visit = "week", outcome = "y", group = "group",
                     covariates = unlist(sp$covariates_r), strategy = "strategy")
    method <- switch(sp$method,
      jackknife = method_condmean(type = "jackknife", covariance = sp$cov, REML = sp$reml),
      bootstrap = method_condmean(type = "bootstrap", n_samples = sp$n_samples,
                                  covariance = sp$cov, REML = sp$reml),
      approxbayes = method_approxbayes(n_samples = sp$n_samples, covariance = sp$cov,
                                       REML = sp$reml))
    if (!is.null(sp$seed)) set.seed(sp$seed)
    drw <- draws(data = d, data_ice = ice, vars = vars, method = method, quiet = TRUE)
    imp <- impute(drw, references = unlist(sp$references))
    out$n_failed_samples <- drw$n_failures
    results_fn <- function(delta, covs, weights) {
      v2 <- vars; v2$covariates <- covs
      fun <- if (length(arms) == 2) ancova else ancova_k
      suppressMessages(analyse(imp, fun = fun, delta = delta, vars = v2,
                               weights = weights))$results
    }
    out$engine <- if (length(arms) == 2) "rbmi" else "rbmi draws/impute + ancova_k"
    # full-data imputation model (the first sample of condmean)
    if (sp$method != "approxbayes") {
      s1 <- drw$samples[[1]]
      out$imputation_beta <- I(s1$beta)
      out$imputation_sigma <- I(unname(s1$sigma[[1]]))
    }
  }
  t1 <- Sys.time()
  out$analyses <- list()
  for (a in sp$analyses) {
    covs <- unlist(a$covariates)
    delta <- read_delta(a$delta, d)
    res <- results_fn(delta, covs, a$weights)
    ana <- as_ana(res, method)
    tab <- pool_table(ana, arms, ref)
    if (length(arms) == 2) {
      # ancova_k against rbmi's ancova on the first imputed set
      ds <- if (one_visit) NULL else {
        rbmi:::extract_imputed_df(imp$imputations[[1]], imp$data, delta)
      }
      if (!is.null(ds)) {
        v2 <- vars; v2$covariates <- covs
        ra <- suppressMessages(ancova(ds, v2, weights = a$weights))
        rk <- ancova_k(ds, v2, weights = a$weights)
        dif <- vapply(names(ra), function(n) {
          mk <- sub("^(trt|lsm_ref|lsm_alt)_", sprintf("\\1_%s_", arms[2]), n)
          max(abs(ra[[n]]$est - rk[[mk]]$est), abs(ra[[n]]$se - rk[[mk]]$se)) / ra[[n]]$se
        }, 0)
        tab$ancova_k_check <- max(dif)
      }
    }
    out$analyses[[a$key]] <- c(list(covariates = I(covs), delta = a$delta,
                                     weights = a$weights), tab)
  }
  if (sp$method == "approxbayes") {
    # two more runs with other seeds (first analysis): a check of the Monte Carlo SEs
    a <- sp$analyses[[1]]
    out$replicates <- lapply(1:2, function(k) {
      set.seed(sp$seed + k)
      drk <- draws(data = d, data_ice = ice, vars = vars, method = method, quiet = TRUE)
      impk <- impute(drk, references = unlist(sp$references))
      v2 <- vars; v2$covariates <- unlist(a$covariates)
      fun <- if (length(arms) == 2) ancova else ancova_k
      ana <- suppressMessages(analyse(impk, fun = fun, delta = read_delta(a$delta, d),
                                      vars = v2, weights = a$weights))
      tab <- pool_table(ana, arms, ref)
      c(list(seed = sp$seed + k), tab[c("parameter", "arm", "week", "est", "se", "lci",
                                        "uci", "pval")])
    })
  }
  out$tipping <- setNames(list(), character(0))
  for (tp in sp$tipping) {
    out$tipping[[tp$key]] <- tryCatch(
      tipping(tp, results_fn, method, d, arms, ref),
      error = function(e) list(error = conditionMessage(e)))
  }
  out$max_gradient <- FITS$max_gradient
  out$max_newton_step <- FITS$max_newton
  out$n_fits <- FITS$n
  out$n_refits <- FITS$refits
  # mmrm's default fit of the full data (what rbmi would use) against the polished one:
  # max |difference of the imputation model's coefficients| / SE, and its max |gradient|
  out$default_fit <- list(beta_diff_se = FITS$default_beta, gradient = FITS$default_gradient)
  out$seconds <- c(draws = as.numeric(difftime(t1, t0, units = "secs")),
                   analyses = as.numeric(difftime(Sys.time(), t1, units = "secs")))
  out
}

ids <- sort(names(SPECS))
if (nzchar(Sys.getenv("RBMI_ONLY"))) ids <- strsplit(Sys.getenv("RBMI_ONLY"), ",")[[1]]
# large cases first, so that the cores finish together
cost <- vapply(ids, function(i) {
  s <- SPECS[[i]]
  (if (s$method == "jackknife") s$n else s$n_samples) * length(s$weeks)^1.5
}, 0)
ids_run <- ids[order(-cost)]
res <- mclapply(ids_run, function(i) tryCatch(run_case(i), error = function(e) {
  list(error = conditionMessage(e))
}), mc.cores = as.integer(Sys.getenv("RBMI_CORES", "2")), mc.preschedule = FALSE)
names(res) <- ids_run
res <- res[sort(ids)]
for (i in names(res)) if (inherits(res[[i]], "try-error")) res[[i]] <- list(error = res[[i]][1])

js <- function(x) toJSON(x, digits = NA, auto_unbox = TRUE, na = "null", null = "null")
cases <- vapply(names(res), function(i) paste0("  ", js(i), ": ", js(res[[i]])), "")
head <- list(generated_by = "tests/reference/rbmi.R", r_version = R.version.string,
             packages = lapply(c(rbmi = "rbmi", mmrm = "mmrm", TMB = "TMB",
                                 jsonlite = "jsonlite"),
                               function(p) as.character(packageVersion(p))),
             seconds = round(as.numeric(difftime(Sys.time(), t_start, units = "secs")), 1),
             max_gradient = max(unlist(lapply(res, `[[`, "max_gradient")), 0),
             n_fits = sum(unlist(lapply(res, `[[`, "n_fits"))))
txt <- paste0("{\n", paste(c(
  vapply(names(head), function(k) paste0(" ", js(k), ": ", js(head[[k]])), ""),
  paste0(" \"cases\": {\n", paste(cases, collapse = ",\n"), "\n }")),
  collapse = ",\n"), "\n}\n")
writeLines(txt, out_path, sep = "")
cat(sprintf("%d cases, %d fits, max gradient %.3g, %.1f s\n", length(cases), head$n_fits,
            head$max_gradient, head$seconds))
for (i in names(res)) if (!is.null(res[[i]]$error)) cat(i, ":", res[[i]]$error, "\n")
