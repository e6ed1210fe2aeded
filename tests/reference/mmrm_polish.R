# The polishing optimizer of the MMRM references, shared by tests/reference/mmrm.R and
# tests/reference/rbmi.R (source it after library(mmrm)). mmrm's default fit stops early;
# mmrm calls this as optimizer(par, fn, gr, hessian = <TMB's exact Hessian>): nlminb with
# tight tolerances, then Newton steps until max |gradient| is ~1e-10.
polish <- function(par, fn, gr, hessian, ...) {
  g_of <- function(p) as.numeric(gr(p))
  o <- stats::nlminb(par, fn, function(p) g_of(p), hessian,
                     control = list(eval.max = 5000, iter.max = 2000, rel.tol = 1e-15,
                                    x.tol = 1e-12, abs.tol = 0))
  p <- if (is.finite(o$objective) && o$objective <= fn(par)) o$par else par
  f <- fn(p); g <- g_of(p); it <- 0L
  while (it < 100L && max(abs(g)) > 1e-10) {
    it <- it + 1L
    H <- hessian(p)
    step <- tryCatch(solve(H, g), error = function(e) NULL)
    if (is.null(step) || !all(is.finite(step))) break
    t <- 1; moved <- FALSE
    while (t > 1e-6) {
      pn <- p - t * step; fnew <- fn(pn); gnew <- g_of(pn)
      # near the optimum the objective changes only at its rounding level, which in
      # mmrm's objective is far above double precision (y' V^-1 y minus the fitted part:
      # with outcomes far from 0 in SD units, fn is noisy at ~1e-7 absolute while its AD
      # gradient stays smooth): accept a step that lowers the gradient and leaves the
      # objective within that noise, or one that lowers the objective
      if (is.finite(fnew) && all(is.finite(gnew)) &&
          (fnew < f - 1e-7 * max(1, abs(f)) ||
           (fnew <= f + 1e-7 * max(1, abs(f)) && max(abs(gnew)) < max(abs(g))))) {
        moved <- TRUE; break
      }
      t <- t / 2
    }
    if (!moved) break
    p <- pn; f <- fnew; g <- gnew
  }
  list(par = p, objective = f, convergence = 0L,
       message = sprintf("nlminb (%s) + %d Newton steps: max|gradient| %.3g",
                         o$message, it, max(abs(g))),
       iterations = it)
}
polish_opt <- list(polish = mmrm:::h_partial_fun_args(
  polish, additional_attr = list(use_hessian = TRUE)))
