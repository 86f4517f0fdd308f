# Reference values for the within-arm, percent-change and between-group analyses of the seed
# protocols (issue 18), on the virtual datasets written by export.py.
# Input: rows.csv (per continuous endpoint, the analysed participants: arm, value, baseline,
# change, percent change, died during the study), binary.csv (counts of the binary endpoints
# at a visit: Meng's Table 3, Shi's symptoms, tumour markers, normal CT), tte.csv (days and
# event type of Meng's admission to discharge), ae.csv (treatment-emergent AEs with AEREL).
# Output: analysis_seeds.json.
#   within-arm, per arm and pooled ("__all__"):
#     wilcox.test(CHG, conf.int = TRUE)      -> V, p, pseudomedian, CI   (= paired on AVAL, BASE)
#     t.test(CHG)                            -> t, df, p, mean, CI       (= t.test(AVAL, BASE, paired = TRUE))
#     PCHG: mean, sd, median, quantile(type = 7) 25% and 75%
#   between arms at a visit: wilcox.test(AVAL[trt], AVAL[ctrl], conf.int = TRUE) -> W, p, HL, CI
#   survivors vs deaths (Fathi-Kazerooni), per arm and pooled:
#     t.test(CHG[DIED == 1], CHG[DIED == 0])  -> t, df, p, difference, CI  (Welch)
#   binary: fisher.test(matrix(c(e1, n1 - e1, e2, n2 - e2), 2, byrow = TRUE))$p.value
#   days to the event (EVTYPE == 1 only): quantile(type = 7) per arm and pooled;
#     wilcox.test(AVAL[trt], AVAL[ctrl]) -> W, p
#   relatedness: participants and events with AEREL in (RELATED, PROBABLY, POSSIBLY RELATED)
library(jsonlite)

rows <- read.csv("rows.csv", stringsAsFactors = FALSE)
binary <- read.csv("binary.csv", stringsAsFactors = FALSE)
ae <- read.csv("ae.csv", stringsAsFactors = FALSE)
tte <- read.csv("tte.csv", stringsAsFactors = FALSE)
control <- c(lanzoni2021 = "control", fathikazerooni2022 = "placebo", meng2020 = "control",
             rebelatto2022 = "placebo", shi2021 = "placebo")

safe <- function(expr) tryCatch(expr, error = function(e) NULL)
within <- function(d) {
  out <- list(n = length(d))
  w <- safe(suppressWarnings(wilcox.test(d, conf.int = TRUE)))
  if (!is.null(w)) {
    out$V <- unname(w$statistic); out$wilcox_p <- w$p.value
    out$pseudomedian <- unname(w$estimate); out$pm_lower <- w$conf.int[1]
    out$pm_upper <- w$conf.int[2]
  }
  t <- safe(t.test(d))
  if (!is.null(t)) {
    out$t <- unname(t$statistic); out$df <- unname(t$parameter); out$t_p <- t$p.value
    out$mean <- unname(t$estimate); out$t_lower <- t$conf.int[1]; out$t_upper <- t$conf.int[2]
  }
  out
}
percent <- function(p) {
  p <- p[!is.na(p)]
  q <- quantile(p, c(0.25, 0.5, 0.75), type = 7, names = FALSE)
  list(n = length(p), mean = mean(p), sd = if (length(p) > 1) sd(p) else NA,
       median = q[2], q1 = q[1], q3 = q[3])
}

out <- list(R = R.version.string)
for (key in unique(paste(rows$PROTOCOL, rows$ENDPOINT))) {
  parts <- strsplit(key, " ")[[1]]
  x <- rows[rows$PROTOCOL == parts[1] & rows$ENDPOINT == parts[2], ]
  res <- list()
  if (all(is.na(x$CHG))) {
    ctrl <- control[[parts[1]]]
    a <- x$AVAL[x$ARM != ctrl]; b <- x$AVAL[x$ARM == ctrl]
    w <- suppressWarnings(wilcox.test(a, b, conf.int = TRUE))
    res$between <- list(W = unname(w$statistic), p = w$p.value, hl = unname(w$estimate),
                        lower = w$conf.int[1], upper = w$conf.int[2])
  } else {
    for (arm in c(unique(x$ARM), "__all__")) {
      s <- if (arm == "__all__") x else x[x$ARM == arm, ]
      res[[arm]] <- c(within(s$CHG), list(percent = percent(s$PCHG)))
      d <- s$CHG[s$DIED == 1]; a <- s$CHG[s$DIED == 0]
      t <- safe(t.test(d, a))
      if (!is.null(t)) {
        res[[arm]]$by_survival <- list(
          n_died = length(d), n_survived = length(a), t = unname(t$statistic),
          df = unname(t$parameter), p = t$p.value,
          difference = unname(t$estimate[1] - t$estimate[2]),
          lower = t$conf.int[1], upper = t$conf.int[2])
      }
    }
  }
  out[[parts[1]]][[parts[2]]] <- res
}
for (i in seq_len(nrow(binary) / 2)) {
  x <- binary[(2 * i - 1):(2 * i), ]
  tab <- matrix(c(x$EVENTS[1], x$N[1] - x$EVENTS[1], x$EVENTS[2], x$N[2] - x$EVENTS[2]),
                2, byrow = TRUE)
  out[[x$PROTOCOL[1]]][[x$ENDPOINT[1]]] <- list(fisher_p = fisher.test(tab)$p.value)
}
for (key in unique(paste(tte$PROTOCOL, tte$ENDPOINT))) {
  parts <- strsplit(key, " ")[[1]]
  x <- tte[tte$PROTOCOL == parts[1] & tte$ENDPOINT == parts[2] & tte$EVTYPE == 1, ]
  ctrl <- control[[parts[1]]]
  res <- list()
  for (arm in c(unique(x$ARM), "__all__")) {
    v <- if (arm == "__all__") x$AVAL else x$AVAL[x$ARM == arm]
    q <- quantile(v, c(0.25, 0.5, 0.75), type = 7, names = FALSE)
    res$days[[arm]] <- list(n = length(v), median = q[2], q1 = q[1], q3 = q[3])
  }
  w <- suppressWarnings(wilcox.test(x$AVAL[x$ARM != ctrl], x$AVAL[x$ARM == ctrl]))
  res$wilcox <- list(W = unname(w$statistic), p = w$p.value)
  out[[parts[1]]][[parts[2]]] <- res
}
related <- c("RELATED", "PROBABLY RELATED", "POSSIBLY RELATED")
for (pid in unique(ae$PROTOCOL)) {
  a <- ae[ae$PROTOCOL == pid, ]
  r <- a[!is.na(a$AEREL) & a$AEREL %in% related, ]
  rs <- r[r$AESER == "Y", ]
  res <- list()
  for (arm in c(unique(a$ARM), "__all__")) {
    pick <- function(d) if (arm == "__all__") d else d[d$ARM == arm, ]
    res[[arm]] <- list(related_participants = length(unique(pick(r)$USUBJID)),
                       related_events = nrow(pick(r)),
                       related_sae_participants = length(unique(pick(rs)$USUBJID)))
  }
  out$relatedness[[pid]] <- res
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE),
           "analysis_seeds.json")
