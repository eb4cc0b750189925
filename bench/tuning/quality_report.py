"""Tuning benchmark, part two: the sample-efficiency report, aiopt vs Optuna.

Reads `target/bench-tuning/problems.json` (the problems, written by
`host/benches/tuning_quality.rs`), `quality_aiopt.json` (aiopt's runs, same
file) and `quality_optuna.json` (Optuna's runs, `optuna_quality.py`).

First it trusts nothing: every trial of every run is re-evaluated here (the
function, or the table lookup) and must agree with the recorded value(s) to
1e-9 relative / 1e-12 absolute; every run must hold exactly `budget` trials
inside the space, and every (problem, sampler) exactly one run per seed
0..seeds-1. A table problem's optimum (single) or true hypervolume (multi)
is recomputed from the table. Any mismatch aborts, naming the place.

Then, over the seeds:
- single objective (all minimised): regret after c trials = best value among
  the first c trials minus the known optimum (clamped at 0), at each
  checkpoint; median and interquartile range (25th/75th percentiles, linear
  interpolation as numpy.percentile), and the sampler with the lowest median;
- two objectives: hypervolume of the `budget` trials after normalising each
  objective so that 0 is the best and 1 the worst bound of `normalize`
  (a maximised objective is flipped), against the reference point (1.1, 1.1);
  median, IQR, and median / true hypervolume;
- the mean wall seconds per run of each sampler (not comparable across
  tools beyond a rough indication: each side times its own loop).

Medians over seeds, not means: a few unlucky seeds should not decide a row.

Usage: quality_report.py [target/bench-tuning]
Prints the markdown report and writes quality.md and quality_summary.json.
"""

import json
import math
import pathlib
import statistics
import sys

from optuna_quality import close, evaluator, fail, is_int, is_number, load_problems, param_error

REFERENCE = (1.1, 1.1)
# the samplers each file must provide for every problem (more are allowed)
FILES = {
    "aiopt": ("quality_aiopt.json", {"single": ["aiopt-tpe", "aiopt-random"],
                                     "multi": ["aiopt-tpe", "aiopt-random"]}),
    "optuna": ("quality_optuna.json", {"single": ["optuna-tpe"],
                                       "multi": ["optuna-tpe", "optuna-nsga2"]}),
}
COLUMN_ORDER = ["aiopt-tpe", "aiopt-random", "optuna-tpe", "optuna-nsga2"]

# ------------------------------------------------------------------- checks


def load_runs(out, tool, data, problems):
    """One tool's file, every trial cross-checked; returns its list of runs."""
    name, required = FILES[tool]
    path = out / name
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        fail(f"{path} not found")
    if report.get("tool") != tool:
        fail(f"{name}: \"tool\" is {report.get('tool')!r}, expected {tool!r}")
    seeds, budget = data["seeds"], data["budget"]
    seen = {}
    for run in report["runs"]:
        problem, sampler, seed = run["problem"], run["sampler"], run["seed"]
        where = f"{name}: problem {problem!r}, sampler {sampler!r}, seed {seed!r}"
        if problem not in problems:
            fail(f"{where}: no such problem in problems.json")
        if not sampler.startswith(tool + "-"):
            fail(f"{where}: sampler names in {name} start with {tool + '-'!r}")
        if not (is_int(seed) and 0 <= seed < seeds):
            fail(f"{where}: seed outside 0..{seeds - 1}")
        if (problem, sampler, seed) in seen:
            fail(f"{where}: run listed twice")
        if not is_number(run.get("seconds")):
            fail(f"{where}: bad \"seconds\" {run.get('seconds')!r}")
        seen[problem, sampler, seed] = run
        section, spec, evaluate = problems[problem]
        if len(run["trials"]) != spec["budget"]:
            fail(f"{where}: {len(run['trials'])} trials, expected budget {spec['budget']}")
        for i, trial in enumerate(run["trials"]):
            check_trial(f"{where}, trial {i}", section, spec, evaluate, trial)
    for problem, (section, _, _) in problems.items():
        samplers = {s for p, s, _ in seen if p == problem} | set(required[section])
        for sampler in sorted(samplers):
            missing = [s for s in range(seeds) if (problem, sampler, s) not in seen]
            if missing:
                fail(f"{name}: problem {problem!r}, sampler {sampler!r}: {seeds - len(missing)} runs, "
                     f"expected {seeds} (missing seeds {missing})")
    return list(seen.values()), report


def check_trial(where, section, spec, evaluate, trial):
    error = param_error(spec["space"], trial.get("params"))
    if error:
        fail(f"{where}: {error}")
    ours = evaluate(trial["params"])
    if section == "single":
        recorded = trial.get("value")
        if not is_number(recorded):
            fail(f"{where}: bad \"value\" {recorded!r}")
        if not close(recorded, ours):
            fail(f"{where}: recorded value {recorded!r}, but the problem gives {ours!r} "
                 f"at {trial['params']}")
    else:
        recorded = trial.get("values")
        if not (isinstance(recorded, list) and len(recorded) == 2 and all(map(is_number, recorded))):
            fail(f"{where}: bad \"values\" {recorded!r}")
        if not all(close(a, b) for a, b in zip(recorded, ours)):
            fail(f"{where}: recorded values {recorded!r}, but the problem gives {ours!r} "
                 f"at {trial['params']}")


def check_tables(data):
    """A table's optimum / true hypervolume must be what the table says."""
    for spec in data["single"]:
        if spec["kind"] == "table":
            best = min(row["value"] for row in spec["table"])
            if not close(best, spec["optimum"]):
                fail(f"table problem {spec['name']!r}: optimum {spec['optimum']!r} in problems.json, "
                     f"but the table's minimum is {best!r}")
    for spec in data["multi"]:
        if spec["kind"] == "table":
            hv = hypervolume(spec, [row["values"] for row in spec["table"]])
            if not close(hv, spec["true_hypervolume"]):
                fail(f"table problem {spec['name']!r}: true_hypervolume {spec['true_hypervolume']!r} in "
                     f"problems.json, but the table's Pareto front gives {hv!r}")


# -------------------------------------------------------------- statistics


def percentile(values, q):
    """numpy.percentile(values, 100 q) with its default linear interpolation."""
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def spread(values):
    return {"median": percentile(values, 0.5), "q25": percentile(values, 0.25),
            "q75": percentile(values, 0.75)}


def mann_whitney_p(a, b):
    """Two-sided p-value of the Mann-Whitney U test that `a` and `b` come
    from the same distribution (normal approximation with tie and continuity
    corrections; fine for 20 seeds a side, and no scipy needed)."""
    n1, n2 = len(a), len(b)
    pooled = sorted((v, i) for i, v in enumerate(list(a) + list(b)))
    ranks = [0.0] * (n1 + n2)
    ties = 0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[pooled[k][1]] = (i + j) / 2 + 1
        ties += (j - i + 1) ** 3 - (j - i + 1)
        i = j + 1
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    z = max(abs(u - n1 * n2 / 2) - 0.5, 0.0) / math.sqrt(variance)
    return math.erfc(z / math.sqrt(2))


# the head-to-head comparisons every row reports, one column each
HEAD_TO_HEAD = [("aiopt-tpe", "optuna-tpe"), ("aiopt-tpe-c64", "optuna-tpe")]
SIGNIFICANCE = 0.05


def pair_label(pair):
    return " vs ".join(pair)


def head_to_head(samples, better):
    """Per HEAD_TO_HEAD pair present: which side is better on these per-seed
    samples, if the difference is significant; `better` is min (regret) or
    max (hypervolume)."""
    out = {}
    for ours, theirs in HEAD_TO_HEAD:
        if ours not in samples or theirs not in samples:
            continue
        p = mann_whitney_p(samples[ours], samples[theirs])
        m_ours, m_theirs = percentile(samples[ours], 0.5), percentile(samples[theirs], 0.5)
        if m_ours == m_theirs:
            # Equal medians (e.g. both 0 regret) can still differ in the
            # tails; the means say which way.
            m_ours, m_theirs = statistics.fmean(samples[ours]), statistics.fmean(samples[theirs])
        if p >= SIGNIFICANCE or m_ours == m_theirs:
            out[pair_label((ours, theirs))] = {"better": None, "p": p}
        else:
            out[pair_label((ours, theirs))] = {
                "better": ours if better(m_ours, m_theirs) == m_ours else theirs, "p": p}
    return out


def head_to_head_cells(h2h):
    return " | ".join(head_to_head_cell(h2h.get(pair_label(pair))) for pair in HEAD_TO_HEAD)


def head_to_head_cell(h2h):
    if h2h is None:
        return "–"
    if h2h["better"] is None:
        return f"no significant difference (p = {h2h['p']:.2f})"
    return f"{h2h['better']} (p = {h2h['p']:.3f})"


def normalized(spec, values):
    """Both objectives as minimisation, 0 = best bound, 1 = worst bound."""
    out = []
    for v, direction, low, high in zip(values, spec["directions"], spec["normalize"]["low"],
                                       spec["normalize"]["high"]):
        out.append((v - low) / (high - low) if direction == "minimize" else (high - v) / (high - low))
    return out


def hypervolume(spec, points):
    """2-D hypervolume of the normalised points against REFERENCE."""
    inside = sorted(p for p in (normalized(spec, v) for v in points)
                    if p[0] < REFERENCE[0] and p[1] < REFERENCE[1])
    volume, level = 0.0, REFERENCE[1]
    for f1, f2 in inside:  # increasing f1; a point adds area only if it lowers f2
        if f2 < level:
            volume += (REFERENCE[0] - f1) * (level - f2)
            level = f2
    return volume


def winner(medians, better):
    """The sampler whose median is best, or "tie" (with the tied names)."""
    best = better(medians.values())
    tied = sorted((s for s, m in medians.items() if close(m, best)), key=column_key)
    return ("tie", tied) if len(tied) > 1 else (tied[0], tied)


def column_key(sampler):
    return (COLUMN_ORDER.index(sampler) if sampler in COLUMN_ORDER else len(COLUMN_ORDER), sampler)


def single_summary(data, runs):
    rows, warned = [], set()
    for spec in data["single"]:
        by_sampler = {}
        for run in runs:
            if run["problem"] == spec["name"]:
                by_sampler.setdefault(run["sampler"], []).append(run)
        samplers = sorted(by_sampler, key=column_key)
        checkpoints = []
        for c in spec["checkpoints"]:
            stats, samples = {}, {}
            for sampler in samplers:
                regrets = []
                for run in by_sampler[sampler]:
                    regret = min(t["value"] for t in run["trials"][:c]) - spec["optimum"]
                    if regret < 0 and not close(regret + spec["optimum"], spec["optimum"]) \
                            and (spec["name"], sampler) not in warned:
                        warned.add((spec["name"], sampler))
                        print(f"warning: {spec['name']} {sampler} seed {run['seed']} reached "
                              f"{regret + spec['optimum']!r}, below the stated optimum "
                              f"{spec['optimum']!r}; regret clamped to 0", file=sys.stderr)
                    regrets.append(max(regret, 0.0))
                stats[sampler] = spread(regrets)
                samples[sampler] = regrets
            name, tied = winner({s: v["median"] for s, v in stats.items()}, min)
            checkpoints.append({"trials": c, "regret": stats, "winner": name, "tied": tied,
                                "head_to_head": head_to_head(samples, min)})
        rows.append({"problem": spec["name"], "optimum": spec["optimum"], "note": spec.get("note"),
                     "samplers": samplers, "checkpoints": checkpoints})
    return rows


def multi_summary(data, runs):
    rows = []
    for spec in data["multi"]:
        volumes = {}
        for run in runs:
            if run["problem"] == spec["name"]:
                points = [t["values"] for t in run["trials"][:spec["budget"]]]
                volumes.setdefault(run["sampler"], []).append(hypervolume(spec, points))
        samplers = sorted(volumes, key=column_key)
        stats = {}
        for sampler in samplers:
            stats[sampler] = spread(volumes[sampler])
            stats[sampler]["ratio"] = stats[sampler]["median"] / spec["true_hypervolume"]
        name, tied = winner({s: v["median"] for s, v in stats.items()}, max)
        rows.append({"problem": spec["name"], "budget": spec["budget"],
                     "true_hypervolume": spec["true_hypervolume"],
                     "note": spec.get("note"), "samplers": samplers, "hypervolume": stats,
                     "winner": name, "tied": tied, "head_to_head": head_to_head(volumes, max)})
    return rows


def seconds_summary(data, runs):
    sections = {spec["name"]: section for section in ("single", "multi") for spec in data[section]}
    out = {}
    for section in ("single", "multi"):
        times = {}
        for run in runs:
            if sections[run["problem"]] == section:
                times.setdefault(run["sampler"], []).append(run["seconds"])
        out[section] = {s: statistics.fmean(times[s]) for s in sorted(times, key=column_key)}
    return out


# ------------------------------------------------------------------ report


def fmt(v):
    """4 significant digits; scientific notation when very small or large."""
    if v == 0:
        return "0"
    if abs(v) < 1e-3 or abs(v) >= 1e5:
        return f"{v:.3e}"
    return f"{v:.4g}"


def cell(stats):
    return f"{fmt(stats['median'])} [{fmt(stats['q25'])}, {fmt(stats['q75'])}]"


def winner_cell(name, tied):
    return f"tie ({', '.join(tied)})" if name == "tie" else name


def markdown(data, versions, single, multi, seconds):
    seeds, budget = data["seeds"], data["budget"]
    lines = [
        "# Tuning quality: aiopt vs Optuna",
        "",
        f"aiopt {versions['aiopt']}, optuna {versions['optuna']} (Python {versions['python']}); "
        f"{seeds} seeds per sampler, up to {budget} trials per run (each row says how many); every "
        f"recorded value re-checked.",
        "",
    ]
    notes = []
    if single:
        samplers = sorted({s for row in single for s in row["samplers"]}, key=column_key)
        lines += [
            "## Single objective: regret (best value so far − optimum), median [q25, q75] over seeds",
            "",
            "| problem | trials | " + " | ".join(samplers) + " | winner (median) | "
            + " | ".join(pair_label(p) for p in HEAD_TO_HEAD) + " |",
            "|---|---:|" + "---|" * (len(samplers) + 1 + len(HEAD_TO_HEAD)),
        ]
        for row in single:
            for cp in row["checkpoints"]:
                cells = [cell(cp["regret"][s]) if s in cp["regret"] else "–" for s in samplers]
                lines.append(f"| {row['problem']} | {cp['trials']} | " + " | ".join(cells)
                             + f" | {winner_cell(cp['winner'], cp['tied'])} | "
                             + f"{head_to_head_cells(cp['head_to_head'])} |")
            if row["note"]:
                notes.append(f"- {row['problem']}: {row['note']}")
        lines.append("")
    if multi:
        samplers = sorted({s for row in multi for s in row["samplers"]}, key=column_key)
        lines += [
            "## Two objectives: hypervolume after the problem's budget of trials, median [q25, q75] over seeds "
            f"(× = median / true hypervolume)",
            "",
            "Objectives normalised to [0, 1] by each problem's bounds (0 = best), reference point "
            f"({REFERENCE[0]}, {REFERENCE[1]}).",
            "",
            "| problem | trials | true HV | " + " | ".join(samplers) + " | winner (median) | "
            + " | ".join(pair_label(p) for p in HEAD_TO_HEAD) + " |",
            "|---|---:|---:|" + "---|" * (len(samplers) + 1 + len(HEAD_TO_HEAD)),
        ]
        for row in multi:
            cells = [f"{cell(row['hypervolume'][s])} ×{fmt(row['hypervolume'][s]['ratio'])}"
                     if s in row["hypervolume"] else "–" for s in samplers]
            lines.append(f"| {row['problem']} | {row['budget']} | {fmt(row['true_hypervolume'])} | "
                         + " | ".join(cells)
                         + f" | {winner_cell(row['winner'], row['tied'])} | "
                         + f"{head_to_head_cells(row['head_to_head'])} |")
            if row["note"]:
                notes.append(f"- {row['problem']}: {row['note']}")
        lines.append("")
    parts = []
    for section, label in (("single", "single objective"), ("multi", "two objectives")):
        if seconds[section]:
            parts.append(f"{label}: " + ", ".join(f"{s} {fmt(t)}" for s, t in seconds[section].items()))
    lines += [f"Mean seconds per run (each tool times its own loop) — {'; '.join(parts)}.", ""]
    if notes:
        lines += ["Notes:", ""] + notes + [""]
    return "\n".join(lines)


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-tuning")
    data = load_problems(out)
    check_tables(data)
    problems = {spec["name"]: (section, spec, evaluator(spec, section))
                for section in ("single", "multi") for spec in data[section]}
    aiopt_runs, aiopt = load_runs(out, "aiopt", data, problems)
    optuna_runs, optuna = load_runs(out, "optuna", data, problems)
    runs = aiopt_runs + optuna_runs
    versions = {"aiopt": aiopt.get("aiopt_version", "?"), "optuna": optuna.get("optuna_version", "?"),
                "python": optuna.get("python_version", "?")}
    single = single_summary(data, runs)
    multi = multi_summary(data, runs)
    seconds = seconds_summary(data, runs)
    text = markdown(data, versions, single, multi, seconds)
    print(text, end="")
    (out / "quality.md").write_text(text)
    summary = {
        "versions": versions,
        "seeds": data["seeds"],
        "budget": data["budget"],
        "checkpoints": data["checkpoints"],
        "reference_point": list(REFERENCE),
        "single": single,
        "multi": multi,
        "mean_seconds_per_run": seconds,
    }
    (out / "quality_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {out / 'quality.md'} and {out / 'quality_summary.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
