# Reference values for paired_change, ancova and responders (tests/test_change.py).
# Effect-size CIs by inverting the noncentral t with uniroot (as MBESS::conf.limits.nct).
# Run from the repo root: Rscript tests/reference/change.R
suppressPackageStartupMessages({library(emmeans); library(jsonlite)})
set.seed(7)
np <- 18; nc <- 12
g <- c(rep("PFPS", np), rep("control", nc))
pre <- ifelse(g == "PFPS", rnorm(np + nc, 2.5, 0.5), rnorm(np + nc, 3.0, 0.5))
post <- pre + ifelse(g == "PFPS", 0.5, 0.05) + rnorm(np + nc, 0, 0.3)
pain0 <- ifelse(g == "PFPS", pmin(pmax(rnorm(np + nc, 5, 1.5), 0.5), 10), pmax(rnorm(np + nc, 1, 0.6), 0))
pain1 <- pmin(pmax(ifelse(g == "PFPS", pain0 * 0.6 + rnorm(np + nc, 0, 1), pain0 + rnorm(np + nc, 0, 0.4)), 0), 10)
mass <- round(rnorm(np + nc, 68, 12), 1)
id <- sprintf("R%02d", 1:(np + nc))
d <- rbind(data.frame(subject = id, group = g, time = "pre", strength = pre, pain_vas = round(pain0, 1), body_mass = mass),
           data.frame(subject = id, group = g, time = "post", strength = post, pain_vas = round(pain1, 1), body_mass = mass))
d$strength[d$subject == "R03" & d$time == "post"] <- NA     # one PFPS runner missed the post test
d <- d[!(d$subject == "R25" & d$time == "pre"), ]            # one control has no baseline row
d <- d[order(d$subject, d$time != "pre"), ]
write.csv(d, "tests/reference/data/change_cohort.csv", row.names = FALSE, na = "")
wide <- reshape(d, idvar = c("subject", "group", "body_mass"), timevar = "time", direction = "wide",
                drop = "pain_vas")
nct_ci <- function(t, df, alpha = 0.05) {
  lo <- uniroot(function(ncp) pt(t, df, ncp) - (1 - alpha / 2), c(t - 20, t + 20), tol = 1e-13)$root
  hi <- uniroot(function(ncp) pt(t, df, ncp) - alpha / 2, c(t - 20, t + 20), tol = 1e-13)$root
  c(lo, hi)
}
paired <- function(a, b) {
  ok <- complete.cases(a, b); a <- a[ok]; b <- b[ok]; n <- length(a)
  tt <- t.test(b, a, paired = TRUE)
  dz <- mean(b - a) / sd(b - a); ci <- nct_ci(unname(tt$statistic), n - 1)
  sav <- (sd(a) + sd(b)) / 2; J <- 1 - 3 / (8 * n - 9)
  sc <- sd(b - a) / (sav * sqrt(n))
  list(n = n, mean_diff = mean(b - a), t = unname(tt$statistic), dof = unname(tt$parameter),
       pval = tt$p.value, ci_low = tt$conf.int[1], ci_high = tt$conf.int[2],
       dz = dz, dz_ci_low = ci[1] / sqrt(n), dz_ci_high = ci[2] / sqrt(n),
       hedges_g = J * mean(b - a) / sav, g_ci_low = J * ci[1] * sc, g_ci_high = J * ci[2] * sc)
}
out <- list()
for (grp in c("PFPS", "control")) {
  w <- wide[wide$group == grp, ]
  out$paired[[grp]] <- paired(w$strength.pre, w$strength.post)
}
cc <- wide[complete.cases(wide$strength.pre, wide$strength.post), ]
cc$group <- relevel(factor(cc$group), ref = "control")
fit <- lm(strength.post ~ group + strength.pre, data = cc)
s <- summary(fit)$coefficients; ci <- confint(fit)
out$ancova <- list(estimate = s["groupPFPS", 1], se = s["groupPFPS", 2], t = s["groupPFPS", 3],
                   pval = s["groupPFPS", 4], dof = fit$df.residual,
                   ci_low = ci["groupPFPS", 1], ci_high = ci["groupPFPS", 2], n = nrow(cc))
em <- summary(emmeans(fit, "group"))
out$emmeans <- lapply(split(em, em$group), function(r) list(emmean = r$emmean, se = r$SE))
fit2 <- lm(strength.post ~ group + strength.pre + body_mass, data = cc)
s2 <- summary(fit2)$coefficients
out$ancova_cov <- list(estimate = s2["groupPFPS", 1], se = s2["groupPFPS", 2], dof = fit2$df.residual)
# responders: pain drop >= 2 cm or >= 30%, Wilson CIs, Newcombe hybrid score RD
pw <- reshape(d[, c("subject", "group", "time", "pain_vas")], idvar = c("subject", "group"),
              timevar = "time", direction = "wide")
pw <- pw[complete.cases(pw$pain_vas.pre, pw$pain_vas.post), ]
imp <- pw$pain_vas.pre - pw$pain_vas.post
resp <- imp >= 2 - 1e-12 | (pw$pain_vas.pre > 0 & imp / pw$pain_vas.pre >= 0.3 - 1e-12)
wilson <- function(k, n) { z <- qnorm(0.975); p <- k / n
  c((p + z^2/(2*n) - z*sqrt(p*(1-p)/n + z^2/(4*n^2)))/(1 + z^2/n),
    (p + z^2/(2*n) + z*sqrt(p*(1-p)/n + z^2/(4*n^2)))/(1 + z^2/n)) }
k1 <- sum(resp[pw$group == "PFPS"]); n1 <- sum(pw$group == "PFPS")
k2 <- sum(resp[pw$group == "control"]); n2 <- sum(pw$group == "control")
w1 <- wilson(k1, n1); w2 <- wilson(k2, n2)
# cross-check Wilson with prop.test (score interval without continuity correction)
stopifnot(abs(prop.test(k1, n1, correct = FALSE)$conf.int[1] - w1[1]) < 1e-12)
p1 <- k1 / n1; p2 <- k2 / n2; rd <- p1 - p2
out$responders <- list(k1 = k1, n1 = n1, k2 = k2, n2 = n2, ci1 = w1, ci2 = w2, rd = rd,
  rd_low = rd - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2),
  rd_high = rd + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2))
write_json(out, "tests/reference/change.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
