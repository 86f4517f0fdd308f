# Reference values for celltrial.stats.design / sequential, computed with rpact.
# Run from this directory: Rscript rpact.R  (writes rpact.json)
suppressPackageStartupMessages({library(rpact); library(jsonlite)})
out <- list(R_version = R.version.string, rpact_version = as.character(packageVersion("rpact")),
            jsonlite_version = as.character(packageVersion("jsonlite")))
gs <- list()
for (type in c("OF", "P", "asOF", "asP")) {
  for (k in c(2, 3, 4)) {
    for (alpha in c(0.025, 0.05)) {
      rates <- if (k == 3) c(0.3, 0.7, 1) else (1:k) / k
      d <- getDesignGroupSequential(kMax = k, alpha = alpha, beta = 0.2, sided = 1,
                                    typeOfDesign = type, informationRates = rates)
      ch <- getDesignCharacteristics(d)
      gs[[paste(type, k, alpha, sep = "_")]] <- list(
        type = type, kMax = k, alpha = alpha, beta = 0.2, informationRates = d$informationRates,
        criticalValues = d$criticalValues, alphaSpent = d$alphaSpent, stageLevels = d$stageLevels,
        shift = ch$shift, inflationFactor = ch$inflationFactor,
        rejectionProbabilities = ch$rejectionProbabilities, power = ch$power,
        ASN_H0 = ch$averageSampleNumber0, ASN_H01 = ch$averageSampleNumber01,
        ASN_H1 = ch$averageSampleNumber1)
    }
  }
}
out$group_sequential <- gs
rates <- list()
for (cfg in list(c(0.5, 0.3, 1), c(0.4, 0.2, 2), c(0.15, 0.3, 1))) {
  s <- getSampleSizeRates(pi1 = cfg[1], pi2 = cfg[2], allocationRatioPlanned = cfg[3],
                          alpha = 0.025, beta = 0.2, sided = 1)
  rates[[length(rates) + 1]] <- list(pi1 = cfg[1], pi2 = cfg[2], ratio = cfg[3],
    nFixed = s$nFixed, nFixed1 = s$nFixed1, nFixed2 = s$nFixed2)
}
out$rates <- rates
means <- list()
for (cfg in list(c(5, 10, 1, 1), c(5, 10, 2, 1), c(0.8, 1, 1, 0), c(0.5, 1, 3, 0))) {
  s <- getSampleSizeMeans(alternative = cfg[1], stDev = cfg[2], allocationRatioPlanned = cfg[3],
                          normalApproximation = as.logical(cfg[4]), alpha = 0.025, beta = 0.2, sided = 1)
  means[[length(means) + 1]] <- list(alternative = cfg[1], stDev = cfg[2], ratio = cfg[3],
    normal = as.logical(cfg[4]), nFixed = s$nFixed, nFixed1 = s$nFixed1, nFixed2 = s$nFixed2)
}
out$means <- means
surv <- list()
for (cfg in list(list(hr = 0.7, comp = "Schoenfeld", ratio = 1), list(hr = 0.6, comp = "Freedman", ratio = 1),
                 list(hr = 0.75, comp = "Schoenfeld", ratio = 2), list(hr = 0.5, comp = "Freedman", ratio = 2))) {
  s <- getSampleSizeSurvival(lambda2 = log(2) / 12, hazardRatio = cfg$hr, accrualTime = c(0, 18),
                             followUpTime = 12, allocationRatioPlanned = cfg$ratio,
                             typeOfComputation = cfg$comp, alpha = 0.025, beta = 0.2, sided = 1)
  surv[[length(surv) + 1]] <- list(hazardRatio = cfg$hr, method = cfg$comp, ratio = cfg$ratio,
    lambda2 = log(2) / 12, accrualTime = 18, followUpTime = 12,
    eventsFixed = s$eventsFixed, nFixed = s$nFixed, nFixed1 = s$nFixed1, nFixed2 = s$nFixed2,
    maxNumberOfSubjects = s$maxNumberOfSubjects)
}
out$survival <- surv
pw <- getPowerSurvival(lambda2 = log(2) / 12, hazardRatio = c(0.6, 0.7, 0.8), accrualTime = c(0, 18),
                       maxNumberOfEvents = 150, maxNumberOfSubjects = 300, directionUpper = FALSE,
                       alpha = 0.025, sided = 1)
out$power_survival <- list(hazardRatio = c(0.6, 0.7, 0.8), maxNumberOfEvents = 150,
                           overallReject = pw$overallReject)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "rpact.json")
