# Reference power for celltrial.simulate.power.simulate_logrank_power: rpact's simulation
# (getSimulationSurvival, 100,000 iterations) and analytic (getPowerSurvival, Schoenfeld)
# power of fixed designs with exponential survival, uniform accrual and the analysis at a
# planned number of events; one-sided alpha 0.025, directionUpper = FALSE (HR < 1 favours arm 1). Run from this directory: Rscript rpact_power.R
suppressPackageStartupMessages({library(rpact); library(jsonlite)})
designs <- list(
  list(n = 24, hr = 0.5, median = 12, accrual = 12, events = 18),
  list(n = 40, hr = 0.6, median = 12, accrual = 12, events = 30)
)
d <- getDesignGroupSequential(kMax = 1, alpha = 0.025, sided = 1)
res <- lapply(designs, function(x) {
  sim <- getSimulationSurvival(d, lambda2 = log(2) / x$median, hazardRatio = x$hr,
    accrualTime = c(0, x$accrual), plannedEvents = x$events, maxNumberOfSubjects = x$n,
    maxNumberOfIterations = 100000, seed = 20260301, directionUpper = FALSE)
  pw <- getPowerSurvival(d, lambda2 = log(2) / x$median, hazardRatio = x$hr,
    accrualTime = c(0, x$accrual), maxNumberOfEvents = x$events, maxNumberOfSubjects = x$n, directionUpper = FALSE)
  c(x, list(simulated_power = sim$overallReject, iterations = 100000,
            analytic_power = pw$overallReject))
})
out <- list(
  source = "rpact getSimulationSurvival / getPowerSurvival, kMax = 1, alpha = 0.025 one-sided",
  r_version = R.version.string,
  rpact_version = as.character(packageVersion("rpact")),
  designs = res
)
write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "rpact_power.json")
