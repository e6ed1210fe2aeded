# Reference values for power_corr and power_ttest: R's pwr (tests/test_power_analytic.py).
# Run from the repo root: Rscript tests/reference/power.R
suppressPackageStartupMessages({library(pwr); library(jsonlite)})
out <- list(r = list(), t = list())
for (alt in c("two.sided", "greater", "less")) {
  for (r in c(0.3, 0.5, -0.4)) for (n in c(16, 40)) {
    if ((alt == "greater" && r < 0) || (alt == "less" && r > 0)) next
    out$r[[length(out$r) + 1]] <- list(r = r, n = n, alternative = alt,
      power = pwr.r.test(r = r, n = n, alternative = alt)$power)
  }
  for (d in c(0.5, 0.75)) for (type in c("two.sample", "paired")) for (n in c(15, 30)) {
    if (alt == "less") dd <- -d else dd <- d
    out$t[[length(out$t) + 1]] <- list(d = dd, n = n, type = type, alternative = alt,
      power = pwr.t.test(d = dd, n = n, type = type, alternative = alt)$power)
  }
}
out$r_n <- lapply(c(0.3, 0.5), function(r) list(r = r, power = 0.8,
  n = pwr.r.test(r = r, power = 0.8)$n))
out$t_n <- lapply(list(list(0.75, "two.sample"), list(0.5, "paired"), list(1.2, "two.sample")),
  function(a) list(d = a[[1]], type = a[[2]], power = 0.9,
                   n = pwr.t.test(d = a[[1]], power = 0.9, type = a[[2]])$n))
write_json(out, "tests/reference/power.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
