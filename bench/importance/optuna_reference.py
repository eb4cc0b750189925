"""Optuna's PED-ANOVA knob importance on fixed trials, as the reference the
host's `study::importance` is tested against.

Writes host/src/study/importance/optuna_reference.json: for each case the
search space (in aiopt's profile terms), the trials, and the shares
Optuna's `PedAnovaImportanceEvaluator` (default settings, normalised by
`get_param_importances`) gives them. The trials are drawn here with a fixed
seed, so rerunning the script with the same Optuna gives the same file:

    target/bench-venv/bin/python bench/importance/optuna_reference.py

(`cargo xtask bench-tuning` creates that venv with Optuna 5.)
"""

import json
import math
import pathlib
import random
import sys
import warnings

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances

OUT = pathlib.Path(__file__).resolve().parents[2] / "host/src/study/importance/optuna_reference.json"


def distribution(knob):
    kind = knob["type"]
    if kind == "integer":
        return IntDistribution(knob["low"], knob["high"], log=knob.get("log", False), step=knob.get("step", 1))
    if kind == "real":
        return FloatDistribution(knob["low"], knob["high"], log=knob.get("log", False), step=knob.get("step"))
    if kind == "choice":
        return CategoricalDistribution(knob["values"])
    if kind == "flag":
        return CategoricalDistribution([False, True])
    raise ValueError(kind)


def draw(rng, knob):
    kind = knob["type"]
    if kind == "integer":
        if knob.get("log"):
            return int(round(math.exp(rng.uniform(math.log(knob["low"]), math.log(knob["high"])))))
        step = knob.get("step", 1)
        return knob["low"] + step * rng.randrange((knob["high"] - knob["low"]) // step + 1)
    if kind == "real":
        if knob.get("step"):
            n = round((knob["high"] - knob["low"]) / knob["step"])
            return min(knob["high"], knob["low"] + knob["step"] * rng.randrange(n + 1))
        if knob.get("log"):
            return math.exp(rng.uniform(math.log(knob["low"]), math.log(knob["high"])))
        return rng.uniform(knob["low"], knob["high"])
    if kind == "choice":
        return rng.choice(knob["values"])
    return rng.random() < 0.5


MIXED = [
    {"name": "layers", "type": "integer", "low": 0, "high": 20},
    {"name": "ef_search", "type": "integer", "low": 10, "high": 400, "log": True},
    {"name": "lr", "type": "real", "low": 1e-4, "high": 1e-1, "log": True},
    {"name": "noise", "type": "real", "low": 0.0, "high": 1.0},
    {"name": "dropout", "type": "real", "low": 0.0, "high": 0.5, "step": 0.05},
    {"name": "batch", "type": "integer", "low": 8, "high": 512, "step": 8},
    {"name": "model", "type": "choice", "values": ["small", "base", "large"]},
    {"name": "cache", "type": "flag"},
]


def mixed_loss(p, rng):
    model = {"small": 0.6, "base": 0.3, "large": 0.0}[p["model"]]
    return (
        model
        + 0.2 * abs(math.log10(p["lr"]) + 2.5)
        + 0.5 / math.log(p["ef_search"])
        + 0.01 * p["layers"]
        + (0.05 if p["cache"] else 0.0)
        + 0.02 * rng.random()
    )


def cases():
    rng = random.Random(20261125)
    mixed = []
    for _ in range(150):
        p = {k["name"]: draw(rng, k) for k in MIXED}
        mixed.append({"params": p, "value": mixed_loss(p, rng)})
    yield {"name": "mixed space, minimize", "direction": "minimize", "space": MIXED, "trials": mixed}

    # Rounded values: the best tenth ends in a tie that the top group must
    # take whole.
    tied = []
    space = MIXED[:2] + MIXED[6:7]
    for _ in range(57):
        p = {k["name"]: draw(rng, k) for k in space}
        recall = 1.0 - 1.0 / p["ef_search"] - (0.01 if p["model"] == "small" else 0.0)
        tied.append({"params": p, "value": round(recall, 2)})
    yield {"name": "ties at the cutoff, maximize", "direction": "maximize", "space": space, "trials": tied}

    # Few distinct values: a knob whose whole range is 3 points.
    narrow = [
        {"name": "replicas", "type": "integer", "low": 1, "high": 3},
        {"name": "temperature", "type": "real", "low": 0.0, "high": 1.0, "step": 0.25},
        {"name": "quantized", "type": "flag"},
    ]
    few = []
    for _ in range(23):
        p = {k["name"]: draw(rng, k) for k in narrow}
        few.append({"params": p, "value": 10.0 / p["replicas"] + p["temperature"] + 0.1 * rng.random()})
    yield {"name": "narrow grids, minimize", "direction": "minimize", "space": narrow, "trials": few}


def importance(case):
    study = optuna.create_study(direction=case["direction"])
    dists = {k["name"]: distribution(k) for k in case["space"]}
    for t in case["trials"]:
        study.add_trial(optuna.trial.create_trial(params=t["params"], distributions=dists, value=t["value"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shares = get_param_importances(study, evaluator=PedAnovaImportanceEvaluator())
    return {k: float(v) for k, v in shares.items()}


def main():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = {"optuna": optuna.__version__, "cases": []}
    for case in cases():
        case["optuna_importance"] = importance(case)
        out["cases"].append(case)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT} (optuna {optuna.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
