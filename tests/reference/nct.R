# Reference values for hipstats.stats.change.noncentral_t_ci (tests/test_nct.py).
#
# Run from the repository root:
#     Rscript tests/reference/nct.R
# It writes tests/reference/nct.json. Needs base R and jsonlite (MBESS is not needed).
#
# Confidence limits for the noncentrality parameter of an observed t on df degrees of
# freedom, defined as in MBESS::conf.limits.nct:
#     ncp_low:  P(T >= t | df, ncp_low)  = alpha / 2   pt(t, df, ncp, lower.tail = FALSE)
#     ncp_high: P(T <= t | df, ncp_high) = alpha / 2   pt(t, df, ncp, lower.tail = TRUE)
# Each is found by uniroot (tol 1e-12) on pt(), evaluating the alpha/2 tail directly (the
# accurate side), after bracketing by geometrically growing steps. No symmetry is used,
# so negative t also checks T(-ncp) = -T(ncp) in hipstats.
#
# Where R's pt() is not exact, the point is excluded from "grid" and listed in "excluded":
#  * |ncp| > 37.62: R's pnt() (src/nmath/pnt.c) silently switches from the AS 243 series
#    to the normal approximation of Abramowitz & Stegun 26.7.10 when
#    ncp^2 > 2 log(2) * 1021 (i.e. |ncp| > 37.62) and is then wrong in the 2nd-3rd digit
#    for small df (this is also what MBESS::conf.limits.nct returns there);
#  * any warning from pt() at the limit (e.g. "full precision may not have been achieved
#    in 'pnt{final}'" or "convergence failed in 'pnt'").
# For the excluded limits "quadrature" gives the same limits found by uniroot on the exact
# integral P(T <= t) = E[pnorm(t sqrt(V / df) - ncp)], V ~ chi-square(df), computed with
# integrate() over V (rel.tol 1e-13); "check" reports how far pt() and quadrature agree
# on the points that were kept.

library(jsonlite)

LIM_ASY <- sqrt(2 * log(2) * 1021)  # 37.62: pnt() uses the normal approximation beyond

pt_tail <- function(t, df, ncp, upper) pt(t, df, ncp, lower.tail = !upper)

quad_tail <- function(t, df, ncp, upper) {
  s <- if (upper) -1 else 1
  g <- function(v) pnorm(s * (t * sqrt(v / df) - ncp)) * dchisq(v, df)
  a <- 0
  b <- qchisq(1e-30, df, lower.tail = FALSE)
  pts <- qchisq(0.5, df)
  if (t != 0) pts <- c(pts, df * pmax((ncp + c(-40, -12, -6, -3, -1, 0, 1, 3, 6, 12, 40)) / t, 0)^2)
  edges <- sort(unique(c(a, pts[pts > a & pts < b], b)))
  tot <- 0
  for (i in seq_len(length(edges) - 1))
    tot <- tot + integrate(g, edges[i], edges[i + 1], rel.tol = 1e-13, abs.tol = 0,
                           subdivisions = 2000L)$value
  min(max(tot, 0), 1)
}

# Root of an increasing function, bracketed from x0 by doubling steps.
root_incr <- function(f, x0, step) {
  lo <- hi <- x0
  flo <- fhi <- f(x0)
  if (flo == 0) return(x0)
  for (i in 1:200) {
    if (flo < 0 && fhi > 0) break
    if (fhi <= 0) { lo <- hi; flo <- fhi; hi <- hi + step; fhi <- f(hi) }
    else { hi <- lo; fhi <- flo; lo <- lo - step; flo <- f(lo) }
    step <- step * 2
  }
  stopifnot(flo < 0, fhi > 0)
  uniroot(f, c(lo, hi), f.lower = flo, f.upper = fhi, tol = 1e-12, maxiter = 10000)$root
}

limits <- function(t, df, conf, tail) {
  p <- (1 - conf) / 2
  z <- qnorm(p, lower.tail = FALSE)
  centre <- t * (1 - 1 / (4 * df))
  spread <- sqrt(1 + t^2 / (2 * df))
  step <- max(0.5, 0.25 * spread)
  lo <- root_incr(function(d) tail(t, df, d, TRUE) - p, centre - z * spread, step)
  hi <- root_incr(function(d) p - tail(t, df, d, FALSE), centre + z * spread, step)
  c(lo, hi)
}

# Warnings pt() gives when evaluated at the limits themselves.
warnings_at <- function(t, df, lims) {
  w <- character(0)
  withCallingHandlers({
    pt(t, df, lims[1], lower.tail = FALSE)
    pt(t, df, lims[2], lower.tail = TRUE)
  }, warning = function(cond) {
    w <<- c(w, conditionMessage(cond))
    invokeRestart("muffleWarning")
  })
  unique(w)
}

ts <- c(-60, -30, -12, -6, -4.5, -2, -0.5, 0, 0.5, 2, 4.5, 6, 12, 30, 60)
dfs <- c(2, 3, 5, 10, 14, 30, 100, 500)
pts <- rbind(expand.grid(t = ts, df = dfs, conf = 0.95),
             expand.grid(t = c(-6, -2, 0.5, 4.5, 12), df = c(3, 14, 100), conf = 0.90))

grid <- list(); excluded <- list(); quadrature <- list()
max_rel_pt_quad <- 0
for (i in seq_len(nrow(pts))) {
  t <- pts$t[i]; df <- pts$df[i]; conf <- pts$conf[i]
  search_warn <- character(0)
  lims <- withCallingHandlers(limits(t, df, conf, pt_tail), warning = function(cond) {
    search_warn <<- c(search_warn, conditionMessage(cond))
    invokeRestart("muffleWarning")
  })
  q <- limits(t, df, conf, quad_tail)
  w <- warnings_at(t, df, lims)
  reasons <- character(0)
  if (any(abs(lims) > LIM_ASY))
    reasons <- c(reasons, sprintf("|ncp| > %.2f: pt() uses the normal approximation (A&S 26.7.10)",
                                  LIM_ASY))
  if (length(w)) reasons <- c(reasons, paste("pt() warning:", w))
  rec <- list(t = t, df = df, conf = conf, ncp_low = lims[1], ncp_high = lims[2])
  if (length(reasons)) {
    excluded[[length(excluded) + 1]] <- c(rec, list(reason = paste(reasons, collapse = "; ")))
    quadrature[[length(quadrature) + 1]] <- list(t = t, df = df, conf = conf,
                                                 ncp_low = q[1], ncp_high = q[2])
  } else {
    grid[[length(grid) + 1]] <- rec
    max_rel_pt_quad <- max(max_rel_pt_quad, abs(lims - q) / pmax(abs(q), 1))
  }
}

out <- list(
  description = paste("Noncentral-t confidence limits (MBESS::conf.limits.nct definition) by",
                      "uniroot on pt(); see tests/reference/nct.R"),
  r_version = R.version.string,
  tol = 1e-12,
  grid = grid,
  excluded = excluded,
  quadrature = quadrature,
  check = list(max_rel_diff_pt_vs_quadrature_on_grid = max_rel_pt_quad,
               n_grid = length(grid), n_excluded = length(excluded))
)
write_json(out, "tests/reference/nct.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat(sprintf("grid %d, excluded %d, max rel diff pt vs quadrature on grid %.3g\n",
            length(grid), length(excluded), max_rel_pt_quad))
