# Covariate-adjusted marginal effects (issue 26): beeca::get_marginal_effect on the trials made
# by tests/reference/marginal_data.py, and ordinal::clm on its ordinal sets; replayed without R
# by tests/test_marginal_reference.py.
#
# R 4.2.2; beeca 0.2.0 built from openpharma/beeca's source (commit 4b72c14: git archive +
# R CMD INSTALL) with Debian's dplyr, lifecycle and sandwich; ordinal and jsonlite from Debian.
# The versions used are written into the JSON header.
#
# Run from the repo root, after the generator:   Rscript tests/reference/marginal.R
# A held-out batch: ME_DIR=<folder> ME_OUT=<folder>/marginal.json Rscript tests/reference/marginal.R
#
# Per trial (trials.csv): arm is a factor with the trial's level order (the reference is not
# always the first level), fitted once as
#   glm(<formula>, family = binomial, data, control = glm.control(epsilon = 1e-14, maxit = 100))
# R's default stopping rule (epsilon 1e-8 on the relative deviance change) leaves the
# coefficients ~1e-5 from the maximum and takes the covariance (cov.unscaled, the sandwich's
# bread and meat) from the weights of the iteration before the last: not close enough for SEs
# compared at 1e-5. With epsilon 1e-14 the fit is at the maximum (max |X'(y - p)| recorded as
# max_score; the last step's change in the coefficients, recorded as last_step, is ~1e-12).
# Rows with a missing outcome or covariate are dropped by glm (na.omit); beeca warns and uses
# the rows kept (n_used recorded).
# Then, per analysis (specs.csv): get_marginal_effect(fit, trt = "arm", strata, method, type,
# contrast, reference), beeca's default mod = FALSE. Recorded: marginal_est, marginal_se (one
# per non-reference arm, in beeca's order), counterfactual.means and robust_varcov (arm
# order), and beeca's contrast labels.
#
# Ordinal sets (ordinal_sets.csv): clm(factor(grc) ~ arm + y_bl) (logit link, flexible
# thresholds, arm a factor with "ctl" first), recorded: thresholds and coefficients with
# their SEs (vcov), logLik, and max |gradient|; and the proportional-odds check of Brant
# (1990) computed here by hand from the separate binary logits (R's brant package is not on
# this machine): for each cut j the glm of 1{grc > j} on the same covariates, their joint
# covariance by Brant's formula, and the Wald statistic of equal slopes across cuts.
suppressPackageStartupMessages({library(beeca); library(ordinal); library(jsonlite)})

dir <- Sys.getenv("ME_DIR", "tests/reference/data/marginal")
out_path <- Sys.getenv("ME_OUT", "tests/reference/marginal.json")
data <- read.csv(file.path(dir, "datasets.csv"), stringsAsFactors = FALSE)
trials <- read.csv(file.path(dir, "trials.csv"), stringsAsFactors = FALSE)
specs <- read.csv(file.path(dir, "specs.csv"), stringsAsFactors = FALSE)
trials$strata[is.na(trials$strata)] <- ""
specs$strata[is.na(specs$strata)] <- ""
specs$type[is.na(specs$type)] <- ""
ctrl <- glm.control(epsilon = 1e-14, maxit = 100)

fit_trial <- function(tr) {
  d <- data[data$set == tr$set, ]
  d$arm <- factor(d$arm, levels = strsplit(tr$levels, "|", fixed = TRUE)[[1]])
  for (s in c("site", "sex")) d[[s]] <- factor(d[[s]])
  fit <- glm(as.formula(tr$formula), family = binomial, data = d, control = ctrl)
  default <- glm(as.formula(tr$formula), family = binomial, data = d)
  X <- model.matrix(fit)
  res <- list(n_used = nrow(X), converged = fit$converged, iter = fit$iter,
              coef = as.list(coef(fit)),
              max_score = max(abs(crossprod(X, fit$y - fitted(fit)))),
              default_coef_maxdiff = max(abs(coef(default) - coef(fit))),
              analyses = list())
  sp <- specs[specs$set == tr$set, ]
  for (i in seq_len(nrow(sp))) {
    s <- sp[i, ]
    strata <- if (s$strata == "") NULL else strsplit(s$strata, "|", fixed = TRUE)[[1]]
    type <- if (s$type == "") "HC0" else s$type
    me <- suppressWarnings(get_marginal_effect(fit, trt = "arm", strata = strata,
                                               method = s$method, type = type,
                                               contrast = s$contrast, reference = tr$reference))
    medef <- suppressWarnings(get_marginal_effect(default, trt = "arm", strata = strata,
                                                  method = s$method, type = type,
                                                  contrast = s$contrast,
                                                  reference = tr$reference))
    vc <- unclass(me$robust_varcov)
    res$analyses[[s$key]] <- list(
      est = unname(as.numeric(me$marginal_est)), se = unname(as.numeric(me$marginal_se)),
      label = attr(me$marginal_est, "contrast"),
      means = unname(as.numeric(me$counterfactual.means)),
      varcov = unname(lapply(seq_len(nrow(vc)), function(j) as.numeric(vc[j, ]))),
      default_est = unname(as.numeric(medef$marginal_est)),
      default_se = unname(as.numeric(medef$marginal_se)))
  }
  res
}

brant <- function(d, formula) {
  # Brant (1990) Biometrics 46:1171-1178: separate logits for 1{y > j}, joint covariance
  # Var(b_j, b_l) = (X'W_j X)^-1 X' W_jl X (X'W_l X)^-1, W_jl = diag(p_l - p_j p_l), j <= l,
  # Wald test of equal slopes (slopes only, intercepts free): df = (J - 2) * p.
  X <- model.matrix(formula, d)
  lev <- sort(unique(d$grc))
  cuts <- lev[-length(lev)]
  fits <- lapply(cuts, function(j) glm.fit(X, as.numeric(d$grc > j), family = binomial(),
                                          control = ctrl))
  beta <- lapply(fits, coef)
  p <- lapply(fits, fitted)
  inv <- lapply(seq_along(cuts), function(j) solve(crossprod(X * p[[j]] * (1 - p[[j]]), X)))
  k <- ncol(X); m <- length(cuts); S <- 2:k
  V <- matrix(0, m * (k - 1), m * (k - 1))
  for (j in seq_len(m)) for (l in seq_len(m)) {
    a <- min(j, l); b <- max(j, l)
    w <- p[[b]] - p[[a]] * p[[b]]
    vjl <- inv[[j]] %*% crossprod(X * w, X) %*% inv[[l]]
    V[(j - 1) * (k - 1) + 1:(k - 1), (l - 1) * (k - 1) + 1:(k - 1)] <- vjl[S, S]
  }
  b <- unlist(lapply(beta, function(x) x[S]))
  D <- matrix(0, (m - 1) * (k - 1), m * (k - 1))
  for (j in 1:(m - 1)) {
    D[(j - 1) * (k - 1) + 1:(k - 1), 1:(k - 1)] <- diag(k - 1)
    D[(j - 1) * (k - 1) + 1:(k - 1), j * (k - 1) + 1:(k - 1)] <- -diag(k - 1)
  }
  db <- D %*% b
  stat <- as.numeric(t(db) %*% solve(D %*% V %*% t(D)) %*% db)
  df <- (m - 1) * (k - 1)
  list(stat = stat, df = df, pval = pchisq(stat, df, lower.tail = FALSE))
}

fit_ordinal <- function(os, od) {
  d <- od[od$set == os$set, ]
  d$arm <- factor(d$arm, levels = c("ctl", "hip"))
  f <- clm(factor(grc) ~ arm + y_bl, data = d, link = "logit",
           control = clm.control(gradTol = 1e-12, relTol = 1e-14, maxIter = 200))
  se <- sqrt(diag(vcov(f)))
  list(params = as.list(coef(f)), se = as.list(se), loglik = as.numeric(logLik(f)),
       max_grad = max(abs(f$gradient)), n = nrow(d),
       brant = brant(d, ~ arm + y_bl))
}

out <- list(
  header = list(R = R.version.string, beeca = as.character(packageVersion("beeca")),
                dplyr = as.character(packageVersion("dplyr")),
                sandwich = as.character(packageVersion("sandwich")),
                ordinal = as.character(packageVersion("ordinal")),
                jsonlite = as.character(packageVersion("jsonlite")),
                glm_control = "epsilon = 1e-14, maxit = 100", dir = dir),
  trials = list(), ordinal = list())
for (i in seq_len(nrow(trials))) {
  tr <- trials[i, ]
  out$trials[[tr$set]] <- fit_trial(tr)
}
od <- read.csv(file.path(dir, "ordinal.csv"), stringsAsFactors = FALSE)
osets <- read.csv(file.path(dir, "ordinal_sets.csv"), stringsAsFactors = FALSE)
for (i in seq_len(nrow(osets))) out$ordinal[[osets$set[i]]] <- fit_ordinal(osets[i, ], od)
write_json(out, out_path, digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote", out_path, ":", length(out$trials), "trials,", nrow(specs), "analyses,",
    length(out$ordinal), "ordinal fits\n")
