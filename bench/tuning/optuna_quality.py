"""Tuning benchmark, part two: Optuna's sample efficiency on fixed problems.

`host/benches/tuning_quality.rs` writes `target/bench-tuning/problems.json`:
single-objective problems (all minimised) and two-objective problems, each
either a standard test FUNCTION (branin, hartmann6, rosenbrock, levy,
ackley, zdt1) or a TABLE that lists the objective(s) at every point of a
grid of integer and choice knobs. This script runs Optuna on exactly those problems with the
settings the comparison is about, and records every trial, so that
`quality_report.py` can re-check each value and compare Optuna with aiopt on
the same footing (regret at fixed trial counts, hypervolume of the budget).

- single objective: `TPESampler(multivariate=True, seed=seed)`;
- two objectives: `NSGAIISampler(seed=seed)` and
  `TPESampler(multivariate=True, seed=seed)`;

all other sampler settings are Optuna's defaults, for seeds 0..seeds-1 and
`budget` trials per run. Trials are asked with `study.ask(fixed_distributions=...)`
over the space from problems.json, so both tools search the identical space;
no define-by-run. Nothing is pruned and every trial completes.

The functions are implemented here with the standard formulas (the Rust half
uses the same ones); every `checks` entry of problems.json is evaluated at
startup and a mismatch aborts, which proves both halves optimise the same
function. `quality_report.py` imports the problem code from this module.

Jobs (problem, sampler, seed) run in a 2-process pool (the benchmark machine
has 2 cores); `seconds` is the wall time of one whole run (ask, evaluate,
tell, for all trials) inside its worker.

Usage: optuna_quality.py [target/bench-tuning]
Writes target/bench-tuning/quality_optuna.json and prints a line per job.
"""

import json
import math
import multiprocessing
import pathlib
import sys
import time
import warnings

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

REL_TOL = 1e-9
ABS_TOL = 1e-12
WORKERS = 2

# ---------------------------------------------------------------- functions


def branin(x):
    a, b, c = 1.0, 5.1 / (4.0 * math.pi**2), 5.0 / math.pi
    r, s, t = 6.0, 10.0, 1.0 / (8.0 * math.pi)
    return a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1.0 - t) * math.cos(x[0]) + s


HARTMANN6_ALPHA = [1.0, 1.2, 3.0, 3.2]
HARTMANN6_A = [
    [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
    [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
    [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
    [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
]
HARTMANN6_P = [
    [1e-4 * v for v in row]
    for row in [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
]


def hartmann6(x):
    total = 0.0
    for alpha, a_row, p_row in zip(HARTMANN6_ALPHA, HARTMANN6_A, HARTMANN6_P):
        inner = sum(a * (xj - p) ** 2 for a, xj, p in zip(a_row, x, p_row))
        total += alpha * math.exp(-inner)
    return -total


def rosenbrock(x):
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2 for i in range(len(x) - 1))


def levy(x):
    w = [1.0 + (xi - 1.0) / 4.0 for xi in x]
    head = math.sin(math.pi * w[0]) ** 2
    middle = sum((wi - 1.0) ** 2 * (1.0 + 10.0 * math.sin(math.pi * wi + 1.0) ** 2) for wi in w[:-1])
    tail = (w[-1] - 1.0) ** 2 * (1.0 + math.sin(2.0 * math.pi * w[-1]) ** 2)
    return head + middle + tail


def ackley(x):
    a, b, c = 20.0, 0.2, 2.0 * math.pi
    d = len(x)
    mean_sq = sum(xi * xi for xi in x) / d
    mean_cos = sum(math.cos(c * xi) for xi in x) / d
    return -a * math.exp(-b * math.sqrt(mean_sq)) - math.exp(mean_cos) + a + math.e


def zdt1(x):
    f1 = x[0]
    g = 1.0 + 9.0 / (len(x) - 1) * sum(x[1:])
    return [f1, g * (1.0 - math.sqrt(f1 / g))]


# name -> (function, smallest dimension, largest dimension or None, objectives)
FUNCTIONS = {
    "branin": (branin, 2, 2, 1),
    "hartmann6": (hartmann6, 6, 6, 1),
    "rosenbrock": (rosenbrock, 2, None, 1),
    "levy": (levy, 1, None, 1),
    "ackley": (ackley, 1, None, 1),
    "zdt1": (zdt1, 2, None, 2),
}

# ----------------------------------------------------------------- problems


def fail(message):
    raise SystemExit(f"{pathlib.Path(sys.argv[0]).name}: {message}")


def close(a, b):
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def objectives(section):
    return 1 if section == "single" else 2


def check_space(problem):
    space = problem["space"]
    if not space:
        fail(f"problem {problem['name']!r}: empty space")
    names = [p["name"] for p in space]
    if len(set(names)) != len(names):
        fail(f"problem {problem['name']!r}: duplicate parameter names {names}")
    for p in space:
        if p["type"] not in ("real", "integer", "choice"):
            fail(f"problem {problem['name']!r}, parameter {p['name']!r}: unknown type {p['type']!r}")
        if p["type"] == "choice":
            values = p.get("values")
            if not values or not all(isinstance(v, str) for v in values) or len(set(values)) != len(values):
                fail(f"problem {problem['name']!r}, parameter {p['name']!r}: a choice needs distinct "
                     f"string values, got {values!r}")
            continue
        if p["type"] == "integer" and not (is_int(p["low"]) and is_int(p["high"])):
            fail(f"problem {problem['name']!r}, parameter {p['name']!r}: integer bounds must be ints")
        if not p["low"] <= p["high"]:
            fail(f"problem {problem['name']!r}, parameter {p['name']!r}: low > high")
        if p.get("log", False) and p["low"] <= 0:
            fail(f"problem {problem['name']!r}, parameter {p['name']!r}: log scale needs low > 0")


def distributions(space):
    out = {}
    for p in space:
        if p["type"] == "real":
            out[p["name"]] = FloatDistribution(p["low"], p["high"], log=p.get("log", False))
        elif p["type"] == "choice":
            out[p["name"]] = CategoricalDistribution(p["values"])
        else:
            out[p["name"]] = IntDistribution(p["low"], p["high"], log=p.get("log", False))
    return out


def param_error(space, params):
    """Why `params` is not a point of `space` (None if it is)."""
    names = [p["name"] for p in space]
    if not isinstance(params, dict) or sorted(params) != sorted(names):
        return f"params {params!r} do not name exactly the space's parameters {names}"
    for p in space:
        v = params[p["name"]]
        if p["type"] == "choice":
            if v not in p["values"]:
                return f"parameter {p['name']!r} = {v!r} is not one of {p['values']}"
            continue
        if p["type"] == "integer" and not is_int(v):
            return f"parameter {p['name']!r} = {v!r} is not an integer"
        if p["type"] == "real" and not is_number(v):
            return f"parameter {p['name']!r} = {v!r} is not a finite number"
        if not p["low"] <= v <= p["high"]:
            return f"parameter {p['name']!r} = {v!r} is outside [{p['low']}, {p['high']}]"
    return None


def function_of(problem, section):
    name = problem.get("function", problem["name"])
    if name not in FUNCTIONS:
        fail(f"problem {problem['name']!r}: unknown function {name!r} (known: {', '.join(FUNCTIONS)})")
    fn, dmin, dmax, n_obj = FUNCTIONS[name]
    d = len(problem["space"])
    if d < dmin or (dmax is not None and d > dmax):
        fail(f"problem {problem['name']!r}: {name} does not take {d} parameters")
    if n_obj != objectives(section):
        fail(f"problem {problem['name']!r}: {name} has {n_obj} objective(s), listed under {section!r}")
    return fn


def table_index(problem, section):
    """The table as {tuple of params in space order: value or [values]}, checked to cover the grid."""
    space = problem["space"]
    if any(p["type"] not in ("integer", "choice") for p in space):
        fail(f"table problem {problem['name']!r}: every parameter must be an integer or a choice")
    key_field = "value" if section == "single" else "values"
    index = {}
    for i, row in enumerate(problem["table"]):
        error = param_error(space, row.get("params"))
        if error:
            fail(f"table problem {problem['name']!r}, row {i}: {error}")
        key = tuple(row["params"][p["name"]] for p in space)
        if key in index:
            fail(f"table problem {problem['name']!r}, row {i}: duplicate grid point {key}")
        value = row.get(key_field)
        if section == "single":
            ok = is_number(value)
        else:
            ok = isinstance(value, list) and len(value) == 2 and all(is_number(v) for v in value)
        if not ok:
            fail(f"table problem {problem['name']!r}, row {i}: bad {key_field!r} {value!r}")
        index[key] = value
    points = math.prod(len(p["values"]) if p["type"] == "choice" else p["high"] - p["low"] + 1
                       for p in space)
    if len(index) != points:
        fail(f"table problem {problem['name']!r}: {len(index)} rows for a grid of {points} points")
    return index


def evaluator(problem, section):
    """A function params -> value (single) or [v1, v2] (multi) for `problem`."""
    space = problem["space"]
    names = [p["name"] for p in space]
    if problem["kind"] == "function":
        fn = function_of(problem, section)
        return lambda params: fn([float(params[n]) for n in names])
    if problem["kind"] == "table":
        index = table_index(problem, section)
        return lambda params: index[tuple(params[n] for n in names)]
    fail(f"problem {problem['name']!r}: unknown kind {problem['kind']!r}")


def values_close(a, b):
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    return close(a, b)


def load_problems(out):
    """problems.json, validated; every `checks` entry verified against our functions."""
    path = out / "problems.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        fail(f"{path} not found; the Rust half (host/benches/tuning_quality.rs) writes it")
    seeds, budget, checkpoints = data["seeds"], data["budget"], data["checkpoints"]
    if not (is_int(seeds) and seeds > 0 and is_int(budget) and budget > 0):
        fail(f"{path}: seeds and budget must be positive integers")
    if not checkpoints or any(not is_int(c) or not 0 < c <= budget for c in checkpoints) \
            or checkpoints != sorted(set(checkpoints)):
        fail(f"{path}: checkpoints {checkpoints} must increase within 1..budget")
    # A problem may set its own budget and checkpoints (a small table, where
    # 200 trials would exceed the grid); the top-level ones are the default.
    for problem in data["single"] + data["multi"]:
        problem.setdefault("budget", budget)
        problem.setdefault("checkpoints", [c for c in checkpoints if c <= problem["budget"]])
        b, cps = problem["budget"], problem["checkpoints"]
        if not (is_int(b) and b > 0) or not cps or any(not is_int(c) or not 0 < c <= b for c in cps) \
                or cps != sorted(set(cps)):
            fail(f"{path}: problem {problem['name']!r}: budget {b} and checkpoints {cps} must be positive "
                 f"and increase within 1..budget")
    names = [p["name"] for p in data["single"] + data["multi"]]
    if len(set(names)) != len(names):
        fail(f"{path}: problem names are not unique: {names}")
    for section in ("single", "multi"):
        for problem in data[section]:
            check_space(problem)
            if section == "single" and problem.get("direction", "minimize") != "minimize":
                fail(f"problem {problem['name']!r}: single-objective problems must be minimised")
            if section == "multi":
                dirs = problem["directions"]
                if len(dirs) != 2 or any(d not in ("minimize", "maximize") for d in dirs):
                    fail(f"problem {problem['name']!r}: directions {dirs} must be two of minimize/maximize")
            evaluate = evaluator(problem, section)
            field = "value" if section == "single" else "values"
            for i, check in enumerate(problem.get("checks", [])):
                error = param_error(problem["space"], check["params"])
                if error:
                    fail(f"problem {problem['name']!r}, check {i}: {error}")
                ours = evaluate(check["params"])
                if not values_close(ours, check[field]):
                    fail(f"problem {problem['name']!r}, check {i}: problems.json says {check[field]!r} "
                         f"at {check['params']}, this implementation gives {ours!r}; the Rust and Python "
                         f"halves do not optimise the same function")
    return data


# --------------------------------------------------------------------- runs


def make_sampler(name, seed):
    if name == "optuna-tpe":
        return optuna.samplers.TPESampler(multivariate=True, seed=seed)
    if name == "optuna-nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    raise ValueError(name)


def samplers_for(section):
    return ["optuna-tpe"] if section == "single" else ["optuna-nsga2", "optuna-tpe"]


def quiet():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def run_job(job):
    """One study: `budget` ask/evaluate/tell rounds; returns the run record."""
    section, problem, sampler_name, seed, budget = job
    evaluate = evaluator(problem, section)
    space = problem["space"]
    dists = distributions(space)
    start = time.perf_counter()
    sampler = make_sampler(sampler_name, seed)
    if section == "single":
        study = optuna.create_study(direction="minimize", sampler=sampler)
    else:
        study = optuna.create_study(directions=problem["directions"], sampler=sampler)
    trials = []
    for _ in range(budget):
        trial = study.ask(fixed_distributions=dists)
        params = {p["name"]: trial.params[p["name"]] for p in space}
        value = evaluate(params)
        study.tell(trial, value)
        key = "value" if section == "single" else "values"
        trials.append({"params": params, key: value})
    seconds = time.perf_counter() - start
    return {"problem": problem["name"], "sampler": sampler_name, "seed": seed,
            "seconds": seconds, "trials": trials}


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-tuning")
    quiet()
    data = load_problems(out)
    seeds, budget = data["seeds"], data["budget"]
    jobs = [
        (section, problem, sampler, seed, problem["budget"])
        for section in ("single", "multi")
        for problem in data[section]
        for sampler in samplers_for(section)
        for seed in range(seeds)
    ]
    print(f"optuna {optuna.__version__}: {len(data['single'])} single- and {len(data['multi'])} "
          f"two-objective problems, {seeds} seeds, up to {budget} trials per run, {len(jobs)} runs "
          f"on {WORKERS} processes (problems.json checks passed)")
    runs = []
    started = time.perf_counter()
    with multiprocessing.Pool(WORKERS, initializer=quiet) as pool:
        for run in pool.imap_unordered(run_job, jobs):
            runs.append(run)
            print(f"[{len(runs):>{len(str(len(jobs)))}}/{len(jobs)}] {run['problem']} {run['sampler']} "
                  f"seed {run['seed']}: {run['seconds']:.2f} s "
                  f"(elapsed {time.perf_counter() - started:.0f} s)", flush=True)
    runs.sort(key=lambda r: (r["problem"], r["sampler"], r["seed"]))
    report = {
        "tool": "optuna",
        "optuna_version": optuna.__version__,
        "python_version": sys.version.split()[0],
        "runs": runs,
    }
    path = out / "quality_optuna.json"
    path.write_text(json.dumps(report) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
