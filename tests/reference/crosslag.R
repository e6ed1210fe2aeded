# Reference values for hipstats.cross_lagged (tests/test_crosslag.py).
# Builds the lag pairs independently of hipstats and fits the within-between model with
# lme4 + lmerTest (Satterthwaite df), and the two-wave case with lm().
# Run from the repo root: Rscript tests/reference/crosslag.R
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(jsonlite)})
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 2e-4, rhoend = 1e-12, maxfun = 1e5))
set.seed(20261125)
n <- 40; weeks <- c(0, 2, 4, 6)
d <- expand.grid(week = weeks, subject = sprintf("S%02d", 1:n))
u <- rnorm(n, 0, 0.35); v <- rnorm(n, 0, 6); w <- rnorm(n, 0, 1.5)
d$strength <- 1.6 + u[as.integer(d$subject)] + 0.06 * d$week + rnorm(nrow(d), 0, 0.15)
d$function_score <- 50 + v[as.integer(d$subject)] + 12 * (d$strength - 1.6) + 1.2 * d$week +
  w[as.integer(d$subject)] * d$week + rnorm(nrow(d), 0, 3)
# missed visits: drop some rows entirely, and blank some cells
drop <- sample(nrow(d), 14); d <- d[-drop, ]
d$function_score[sample(nrow(d), 5)] <- NA
d <- d[order(d$subject, d$week), c("subject", "week", "strength", "function_score")]
write.csv(d, "tests/reference/data/crosslag_cohort.csv", row.names = FALSE, na = "")

lagpairs <- function(d) {
  prev <- d; prev$week <- prev$week + 2
  names(prev)[names(prev) == "strength"] <- "x_prev"
  names(prev)[names(prev) == "function_score"] <- "y_prev"
  p <- merge(d, prev, by = c("subject", "week"))
  names(p)[names(p) == "strength"] <- "x"; names(p)[names(p) == "function_score"] <- "y"
  p[complete.cases(p[, c("x", "y", "x_prev", "y_prev")]), ]
}
p <- lagpairs(d)
p$x_b <- ave(p$x_prev, p$subject); p$y_b <- ave(p$y_prev, p$subject)
p$x_w <- p$x_prev - p$x_b; p$y_w <- p$y_prev - p$y_b
p$visit <- factor(p$week)
tidy <- function(fit, terms, ddf) {
  s <- summary(fit, ddf = ddf)$coefficients
  out <- list()
  for (tm in terms) {
    est <- s[tm, "Estimate"]; se <- s[tm, "Std. Error"]; df <- s[tm, "df"]
    q <- qt(0.975, df)
    out[[tm]] <- list(estimate = est, se = se, df = df, t = s[tm, "t value"],
                      pval = s[tm, "Pr(>|t|)"], ci_low = est - q * se, ci_high = est + q * se)
  }
  out
}
f_xy <- lmer(y ~ y_w + x_w + y_b + x_b + visit + (1 | subject), data = p, REML = TRUE,
              control = ctrl)
f_yx <- lmer(x ~ y_w + x_w + y_b + x_b + visit + (1 | subject), data = p, REML = TRUE,
              control = ctrl)
terms <- c("x_w", "y_w", "x_b", "y_b")
res <- list(
  n_pairs = nrow(p), n_subjects = length(unique(p$subject)),
  sd_x_w = sd(p$x_w), sd_y_w = sd(p$y_w),
  sd_x_out = sd(p$x - ave(p$x, p$subject)), sd_y_out = sd(p$y - ave(p$y, p$subject)),
  x_to_y = tidy(f_xy, terms, "Satterthwaite"), y_to_x = tidy(f_yx, terms, "Satterthwaite"),
  x_to_y_kr = tidy(f_xy, terms, "Kenward-Roger")
)
# two-wave case: weeks 0 and 2 only
d2 <- d[d$week %in% c(0, 2), ]
p2 <- lagpairs(d2)
o_xy <- lm(y ~ y_prev + x_prev, data = p2); o_yx <- lm(x ~ x_prev + y_prev, data = p2)
tl <- function(fit) {
  s <- summary(fit)$coefficients; ci <- confint(fit)
  lapply(setNames(c("x_prev", "y_prev"), c("x_prev", "y_prev")), function(tm)
    list(estimate = s[tm, 1], se = s[tm, 2], t = s[tm, 3], pval = s[tm, 4],
         df = fit$df.residual, ci_low = ci[tm, 1], ci_high = ci[tm, 2]))
}
res$two_wave <- list(n_pairs = nrow(p2), x_to_y = tl(o_xy), y_to_x = tl(o_yx))
write_json(res, "tests/reference/crosslag.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
