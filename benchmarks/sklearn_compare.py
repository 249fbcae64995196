"""minibp.sklearn's estimators against scikit-learn's own, same hyper-parameters, same split.

    python benchmarks/sklearn_compare.py [--repeats 7] [--write-docs]

Two workloads, each a Pipeline(StandardScaler(), estimator), built the same way for both
sides (`minibp.sklearn.MLPClassifier` or `MLPRegressor` against
`sklearn.neural_network`'s class of that name), with the same arguments:

- digits: sklearn.datasets.load_digits, a stratified 75/25 split (random_state=0), and
  MLPClassifier's defaults (hidden (100,), relu, adam at 1e-3, batch min(200, n), alpha
  1e-4, max_iter=200, tol=1e-4, n_iter_no_change=10).
- diabetes: sklearn.datasets.load_diabetes (shipped, no download), a 75/25 split
  (random_state=0), and MLPRegressor's defaults but learning_rate_init=0.01 (at 1e-3
  neither side reaches a positive R^2 in 200 epochs).

Round r fits both sides with random_state=r, so the noise a score is judged against is the
spread of each side's own test scores over the seeds; rounds alternate the order (forward on
even rounds, backward on odd), 0.1 s of idle before each fit. Each side's first fit in the
process is timed apart (minibp's loads its compiled kernels from numba's cache there) and
is not among the rounds. Only the pipeline's fit is timed; the score is on the test rows.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness, report, standalone
from benchmarks.standalone import iqr_ms, med, paired, yes_no
from benchmarks.worker import threads_info

PAUSE_S = 0.1
SIDES = ("minibp", "scikit-learn")


@dataclass(frozen=True)
class Workload:
    """One dataset, its split, the estimator's class name and arguments, and the score."""

    dataset: str                 # sklearn.datasets.load_<dataset>
    estimator: str               # "MLPClassifier" or "MLPRegressor"
    params: dict = field(default_factory=dict)
    metric: str = "accuracy"
    tolerance: float = 0.02      # tests/interop/test_sklearn.py: |ours - theirs|, seed 0


WORKLOADS = {
    "digits": Workload("digits", "MLPClassifier", {}, "accuracy", 0.02),
    "diabetes": Workload("diabetes", "MLPRegressor", {"learning_rate_init": 0.01}, "R^2",
                         0.05),
}


def split(workload: Workload):
    """(X_train, X_test, y_train, y_test): 75/25, random_state=0, stratified for classes."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    X, y = getattr(datasets, f"load_{workload.dataset}")(return_X_y=True)
    stratify = y if workload.estimator == "MLPClassifier" else None
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=stratify)


def pipeline(side: str, workload: Workload, seed: int):
    """Pipeline(StandardScaler(), <side's estimator>(**params, random_state=seed))."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if side == "minibp":
        import minibp.sklearn as module
    else:
        import sklearn.neural_network as module
    estimator = getattr(module, workload.estimator)(**workload.params, random_state=seed)
    return make_pipeline(StandardScaler(), estimator)


def fit_once(side: str, workload: Workload, parts, seed: int) -> dict:
    """One timed fit and its test score (accuracy or R^2: the estimator's score)."""
    from sklearn.exceptions import ConvergenceWarning

    X_train, X_test, y_train, y_test = parts
    model = pipeline(side, workload, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "score": float(model.score(X_test, y_test)),
            "epochs": int(model[-1].n_iter_)}


def measure(workload: Workload, repeats: int) -> dict:
    parts = split(workload)
    results = {side: {"first": fit_once(side, workload, parts, 0), "runs": []}
               for side in SIDES}
    for r in range(repeats):
        for side in harness.round_order(list(SIDES), r):
            time.sleep(PAUSE_S)
            results[side]["runs"].append(fit_once(side, workload, parts, r))
        standalone.log(f"{workload.dataset}: round {r + 1}/{repeats} done")
    return {"rows": (len(parts[0]), len(parts[1])), "results": results}


def scores(result: dict) -> list[float]:
    return [run["score"] for run in result["runs"]]


def seconds(result: dict) -> list[float]:
    return [run["seconds"] for run in result["runs"]]


def spread(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def within_noise(found: dict) -> tuple[float, float, bool]:
    """(difference of the mean scores, the noise, met): met when the difference is no
    larger than the larger of the two sides' standard deviations over the seeds."""
    ours, theirs = (scores(found["results"][side]) for side in SIDES)
    difference = statistics.mean(ours) - statistics.mean(theirs)
    noise = max(spread(ours), spread(theirs))
    return difference, noise, abs(difference) <= noise


def results_table(all_found: dict) -> str:
    rows = []
    for name, found in all_found.items():
        workload, results = WORKLOADS[name], found["results"]
        ours = seconds(results["minibp"])
        for side in SIDES:
            result = results[side]
            values = scores(result)
            ratio = "-" if side == "minibp" else (
                f"{report.times(med(seconds(result)) / med(ours))} "
                f"(paired {report.times(paired(seconds(result), ours))})")
            rows.append([
                f"{name} ({workload.metric})", f"{side} {workload.estimator}",
                f"{statistics.mean(values):.4f} +- {spread(values):.4f}",
                " / ".join(f"{v:.4f}" for v in values),
                " / ".join(str(run["epochs"]) for run in result["runs"]),
                report.ms(result["first"]["seconds"]), report.ms(med(seconds(result))),
                iqr_ms(seconds(result)), ratio])
    return report.table(["workload", "estimator", "test score: mean +- sd over seeds",
                         "per seed", "epochs per seed", "first fit (ms)", "median fit (ms)",
                         "IQR (ms)", "its time / minibp's"], rows)


def targets_table(all_found: dict) -> str:
    rows = []
    for name, found in all_found.items():
        difference, noise, met = within_noise(found)
        rows.append([f"{name}: {WORKLOADS[name].metric} within noise of scikit-learn's",
                     "abs(mean difference) <= the larger sd over seeds",
                     f"{difference:+.4f} against {noise:.4f}", yes_no(met)])
        ours, theirs = (seconds(found["results"][side]) for side in SIDES)
        ratio = med(theirs) / med(ours)
        rows.append([f"{name}: minibp's fit faster", "its median / minibp's > 1x",
                     f"{report.ms(med(theirs))} ms / {report.ms(med(ours))} ms = "
                     f"{report.times(ratio)} (paired {report.times(paired(theirs, ours))})",
                     yes_no(ratio > 1)])
    return report.table(["target", "wanted", "measured", "met"], rows)


def main(argv=None) -> int:
    args = standalone.parse(__doc__.split("\n")[0], "benchmarks/sklearn_compare.py", 7, argv)
    run = standalone.Run(args.command)
    all_found = {name: measure(workload, args.repeats) for name, workload in WORKLOADS.items()}
    sizes = "; ".join(f"{name}: {found['rows'][0]} training rows, {found['rows'][1]} test rows"
                      for name, found in all_found.items())
    body = "\n\n".join([
        run.machine_text(("scikit-learn", "scipy"), threads_info()),
        f"{sizes}. Rounds: {args.repeats}, round r with random_state=r for both sides; the "
        "first fit of each side (random_state=0) is apart. \"Its time / minibp's\": ratio "
        "of the medians, and the median of the per-round ratios (paired).",
        results_table(all_found),
        targets_table(all_found),
    ])
    raw = {name: found["results"] for name, found in all_found.items()}
    run.finish("sklearn-estimators", body, args.write_docs, {"sklearn_estimators": raw})
    return 0


if __name__ == "__main__":
    sys.exit(main())
