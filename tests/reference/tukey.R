# Reference values for hipstats.stats.tukey (ptukey, qtukey). Run: Rscript tests/reference/tukey.R
suppressPackageStartupMessages(library(jsonlite))
g <- expand.grid(q = c(0.5, 2, 3.5, 5.2, 8), k = c(2, 3, 4, 6, 10), df = c(3, 5, 12, 30, 100, 1000))
g$p <- ptukey(g$q, g$k, g$df)
g$upper <- ptukey(g$q, g$k, g$df, lower.tail = FALSE)
h <- expand.grid(p = c(0.9, 0.95, 0.99), k = c(2, 3, 6, 10), df = c(5, 12, 30, 100))
h$q <- qtukey(h$p, h$k, h$df)
write_json(list(ptukey = g, qtukey = h), "tests/reference/tukey.json", digits = NA, pretty = TRUE)
