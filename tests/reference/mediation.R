# Mediation reference values (issue 25): R's regmedint and mediation::medsens on the trials
# made by tests/reference/mediation_data.py, replayed without R by
# tests/test_mediation_reference.py.
#
# R 4.2.2 (Debian); regmedint 1.0.1 (kaz-yos/regmedint 5c5270b), its dependency Deriv 4.2.1
# (sgsokol/Deriv 6696693: later releases need R >= 4.4.1) and mediation 4.5.1
# (kosukeimai/mediation e81c6db), each built from source with git archive + R CMD INSTALL;
# the versions used are written into the JSON header.
#
# Run from the repo root, after the generator:
#   Rscript tests/reference/mediation.R
# A held-out batch: MED_DIR=<folder> MED_OUT=<folder>/mediation.json Rscript tests/reference/mediation.R
#
# Per analysis (specs.csv): regmedint(data, yvar = "y", avar = "a", mvar = "m",
# cvar = c("y_bl", "m_bl"), a0, a1, m_cde, c_cond, mreg = "linear", yreg, interaction,
# casecontrol = FALSE, na_omit = TRUE); c_cond = the spec's values, or (empty in the spec)
# the covariate means over the complete rows of y, a, m, y_bl, m_bl (computed here).
#
# Tightened logistic fits. regmedint fits glm() with R's default control (epsilon = 1e-8, a
# relative change in deviance), which stops up to ~1e-6 (relative) short of the maximum
# on these data. regmedint's internal outcome fitter is replaced (assignInNamespace) by one
# that calls the original and refits a glm with control = glm.control(epsilon = 1e-14,
# maxit = 100) from the same formula and data; the max |score| at the final estimates is
# recorded (`score_max`). Everything else is regmedint's own code. (glm's covariance comes
# from the working weights of its last iteration, i.e. at the previous estimates, so R's
# logistic SEs sit ~1e-7 (relative) from those at the maximum that hipstats reports: inside
# the 1e-5 SE tolerance.)
#
# medsens (linear mediator and outcome, a0 = 0, a1 = 1): mediate(lm m, lm y, sims = 50)
# on the complete rows, then medsens(rho.by = 0.05, eps = 1e-20, effect.type = "indirect"):
# eps is the convergence threshold of its iterated SUR on the squared change of the
# coefficients (default sqrt(.Machine$double.eps), i.e. changes of ~1e-4); 1e-20 takes it
# to its fixed point. Recorded: err.cr.d (the grid rho where |ACME| is smallest, d0 then
# d1 with the interaction), d0 and d1 at a few grid rho values (their exact doubles; a 0.05 grid: each medsens call takes ~10 s at 0.01), and
# the correlation of the residuals of m ~ a + C and y ~ a + C (rho_resid).
suppressPackageStartupMessages({library(regmedint); library(mediation); library(jsonlite)})

dir <- Sys.getenv("MED_DIR", "tests/reference/data/mediation")
out <- Sys.getenv("MED_OUT", "tests/reference/mediation.json")
D <- read.csv(file.path(dir, "datasets.csv"))
S <- read.csv(file.path(dir, "specs.csv"))

orig_fit_yreg <- regmedint:::fit_yreg
tight_fit_yreg <- function(...) {
  fit <- orig_fit_yreg(...)
  if (inherits(fit, "glm") && fit$family$family == "binomial") {
    fit <- glm(formula(fit), family = binomial(link = "logit"), data = fit$data,
               control = glm.control(epsilon = 1e-14, maxit = 100))
  }
  fit
}
assignInNamespace("fit_yreg", tight_fit_yreg, "regmedint")

cvar <- c("y_bl", "m_bl")
one <- function(sp) {
  d <- D[D$set == sp$set, c("y", "a", "m", "y_bl", "m_bl", "age")]
  cc <- d[complete.cases(d[, c("y", "a", "m", cvar)]), ]
  c_cond <- if (is.na(sp$c_y_bl)) unname(colMeans(cc[, cvar])) else c(sp$c_y_bl, sp$c_m_bl)
  fit <- regmedint(data = d, yvar = "y", avar = "a", mvar = "m", cvar = cvar,
                   a0 = sp$a0, a1 = sp$a1, m_cde = sp$m_cde, c_cond = c_cond,
                   mreg = "linear", yreg = sp$outcome_model, interaction = sp$interaction == 1,
                   casecontrol = FALSE, na_omit = TRUE)
  s <- summary(fit)$summary_myreg
  res <- list(set = sp$set, key = sp$key, n = nrow(cc), c_cond = c_cond,
              effects = rownames(s), est = unname(s[, "est"]), se = unname(s[, "se"]),
              lci = unname(s[, "lower"]), uci = unname(s[, "upper"]), pval = unname(s[, "p"]),
              beta = unname(coef(fit$mreg_fit)), theta = unname(coef(fit$yreg_fit)))
  if (sp$outcome_model == "logistic") {
    yf <- fit$yreg_fit
    X <- model.matrix(yf)
    res$score_max <- max(abs(crossprod(X, yf$y - fitted(yf))))
    res$glm_iter <- yf$iter
  }
  if (sp$medsens == 1) res$medsens <- sens(cc, sp$interaction == 1)
  res
}

sens <- function(cc, inter) {
  fm <- lm(m ~ a + y_bl + m_bl, data = cc)
  fy <- if (inter) lm(y ~ a + m + a:m + y_bl + m_bl, data = cc) else
    lm(y ~ a + m + y_bl + m_bl, data = cc)
  set.seed(1)
  med <- mediate(fm, fy, treat = "a", mediator = "m", sims = 50)
  ms <- medsens(med, rho.by = 0.05, eps = 1e-20, effect.type = "indirect")
  at <- which(round(ms$rho, 2) %in% c(-0.6, -0.3, -0.1, 0, 0.2, 0.45, 0.7, 0.9))
  rho_resid <- cor(resid(fm), resid(lm(y ~ a + y_bl + m_bl, data = cc)))
  list(err_cr_d = ms$err.cr.d, rho = ms$rho[at], d0 = as.numeric(ms$d0[at]),
       d1 = as.numeric(ms$d1[at]), rho_resid = rho_resid)
}

t0 <- Sys.time()
results <- lapply(seq_len(nrow(S)), function(i) one(S[i, ]))
ver <- function(p) as.character(packageVersion(p))
header <- list(R = R.version.string, regmedint = ver("regmedint"), Deriv = ver("Deriv"),
               mediation = ver("mediation"), jsonlite = ver("jsonlite"),
               generated = format(Sys.time(), "%Y-%m-%d"), n_analyses = length(results),
               seconds = round(as.numeric(difftime(Sys.time(), t0, units = "secs")), 1))
write_json(list(header = header, results = results), out, digits = NA, auto_unbox = TRUE,
           pretty = FALSE)
cat(length(results), "analyses ->", out, "\n")
