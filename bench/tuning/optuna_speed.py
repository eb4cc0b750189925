"""Tuning benchmark, part one: Optuna's TPE time per suggestion.

Reads the SYNTHETIC histories that `host/benches/tuning.rs` exports
(`target/bench-tuning/history_{n}.json`), so both sides see the identical
space and trials, builds an Optuna study with
`TPESampler(multivariate=True, seed=0)` over the equivalent distributions,
adds the trials with `study.add_trial(create_trial(...))`, and times
`study.ask()` (which runs the sampler for every knob of the space).

History size stays fixed: after each timed `ask()` the trial is told
`FAIL`. TPE builds its model only from COMPLETE (and PRUNED, and with
constant liar RUNNING) trials, so a FAIL trial never enters the model; the
only cost it adds is one more entry in the trial list that `ask()` scans and
filters, at most a few hundred on top of the history. This keeps the
storage's and sampler's caches warm across repetitions (the steady state of
a long study); a fresh copy per repetition would instead time the first
`ask()` of a new study, which also computes the search-space intersection
over the whole history. That cold number is reported too, as
`cold_first_ask_ms` (median over a few fresh studies).

Usage: optuna_speed.py [target/bench-tuning]
Writes target/bench-tuning/optuna.json and prints a line per size.
"""

import json
import pathlib
import statistics
import sys
import time
import warnings

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

SIZES = [100, 1000]
BUDGET_S = 10.0  # stop measuring a size after this long (warm-up is extra)
COLD_STUDIES = 5


def distributions(space):
    out = {}
    for p in space:
        kind = p["type"]
        if kind == "real":
            out[p["name"]] = FloatDistribution(p["low"], p["high"], log=p["log"], step=p["step"])
        elif kind == "integer":
            out[p["name"]] = IntDistribution(p["low"], p["high"], log=p["log"], step=p["step"] or 1)
        elif kind == "choice":
            out[p["name"]] = CategoricalDistribution(p["values"])
        elif kind == "flag":
            out[p["name"]] = CategoricalDistribution([False, True])
        else:
            raise ValueError(f"unknown knob type {kind!r}")
    return out


def make_study(history, dists):
    study = optuna.create_study(
        direction=history["objective"]["direction"],
        sampler=optuna.samplers.TPESampler(multivariate=True, seed=0),
    )
    for t in history["trials"]:
        study.add_trial(
            optuna.trial.create_trial(params=t["params"], distributions=dists, value=t["value"])
        )
    return study


def ask_once(study, dists):
    """One suggestion: ask() with the fixed search space, then FAIL it."""
    start = time.perf_counter()
    trial = study.ask(fixed_distributions=dists)
    elapsed = time.perf_counter() - start
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return elapsed


def quantile(sorted_times, q):
    return sorted_times[int((len(sorted_times) - 1) * q)]


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-tuning")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    print(f"optuna {optuna.__version__} TPESampler(multivariate=True, seed=0), study.ask(); "
          f"history is SYNTHETIC (exported by host/benches/tuning.rs)")
    results = []
    for n in SIZES:
        history = json.loads((out / f"history_{n}.json").read_text())
        assert len(history["trials"]) == n, f"history_{n}.json holds {len(history['trials'])} trials"
        dists = distributions(history["space"])

        cold = []
        for _ in range(COLD_STUDIES):
            study = make_study(history, dists)
            cold.append(ask_once(study, dists))
        cold_ms = statistics.median(cold) * 1e3

        study = make_study(history, dists)
        max_iterations = 100 if n >= 1000 else 300
        for _ in range(min(10, -(-max_iterations // 10))):
            ask_once(study, dists)
        times = []
        started = time.perf_counter()
        while len(times) < max_iterations and (len(times) < 10 or time.perf_counter() - started < BUDGET_S):
            times.append(ask_once(study, dists))
        times.sort()
        complete = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        assert complete == n, f"history changed: {complete} complete trials"
        row = {
            "trials": n,
            "median_ms": quantile(times, 0.5) * 1e3,
            "p10_ms": quantile(times, 0.1) * 1e3,
            "p90_ms": quantile(times, 0.9) * 1e3,
            "runs": len(times),
            "cold_first_ask_ms": cold_ms,
        }
        results.append(row)
        print(f"optuna tpe {n:>5} trials: median {row['median_ms']:9.3f} ms  p10 {row['p10_ms']:9.3f} ms  "
              f"p90 {row['p90_ms']:9.3f} ms  ({row['runs']} runs; cold first ask {cold_ms:.3f} ms)")
    report = {
        "tool": "optuna",
        "optuna_version": optuna.__version__,
        "python_version": sys.version.split()[0],
        "sampler": "TPESampler(multivariate=True, seed=0)",
        "what": "study.ask(fixed_distributions=space) on an in-memory study; each ask is told FAIL, "
                "so the COMPLETE history stays fixed",
        "history": "SYNTHETIC",
        "results": results,
    }
    path = out / "optuna.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
