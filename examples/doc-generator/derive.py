#!/usr/bin/env python3
"""Derives examples/doc-generator/ from AlpacaEval 2.0 results.

Source: ../../../shared/data/alpaca_eval/ (per-request judgements derived from
tatsu-lab/alpaca_eval, Apache-2.0; prices from LiteLLM's price table, MIT).
See that folder's README for how those files were made.

The deployment: an LLM drafts documents from instructions. Two knobs: which
model serves, and the answer style it is prompted for (default, concise,
verbose; AlpacaEval runs some models a second and third time with a
"_concise" / "_verbose" prompt, e.g. gpt-3.5-turbo-1106_concise). VARIANTS
below maps each (model, style) to its AlpacaEval run.

Writes, next to this script:
  requests.csv      one row per (instruction, model variant), 8,046 rows:
    served_by       the configuration that served it, "model=<m>;style=<s>",
                    with exactly the knob values of the profile's space
    prompt          the AlpacaEval instruction_id (same instruction, same id
                    across variants; see "Instruction ids" below)
    category        the instruction's source set (helpful_base, koala, ...)
    input_tokens    round(instruction_chars / 4)   } ESTIMATES: the data has
    output_tokens   round(output_chars / 4)        } no token counts; we assume
                                                     about 4 characters per
                                                     token (English); Python
                                                     round, ties to even
    cost_usd        input_tokens * input price + output_tokens * output price
                    (USD per token from models.csv, i.e. LiteLLM)
    score           the judge's win probability against gpt4_1106_preview
                    (0.5 for gpt4_1106_preview itself, the reference)
    No latency column: the data has none and we do not invent one.
  profile.toml      the profile, with one inline [[observations]] per variant:
    quality_score         mean score of the variant's requests
    cost_per_request_usd  mean cost_usd of the variant's requests
    output_tokens         mean estimated output tokens
  The script checks that these means, recomputed from the written
  requests.csv, equal the observations (to the printed precision).

Instruction ids: in the shared requests.csv, instruction_id is the row's
position in the model's annotations, so for a model whose annotations lack
some instructions the ids after the first gap are shifted (alpaca-7b_concise
has 804 rows, alpaca-7b_verbose 802). We re-derive each variant's ids by
matching its rows, in order, to the reference sequence of (instruction_chars,
category) of gpt4_1106_preview (all 805 instructions); the script stops if
that match is not unique.

Prices: where models.csv's litellm_price_key is a "together-ai-..." tier, the
price is LiteLLM's Together AI tier for the model's parameter count, not a
listed price for that model (an assumption made by the data's authors; the
FuseChat and alpaca-7b models here are priced that way).

Assumptions (not from the data): tokens = characters / 4; requests_per_day in
[workload] (REQUESTS_PER_DAY below).

Run: python3 examples/doc-generator/derive.py [path/to/shared/data/alpaca_eval]
"""
import csv
import statistics
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "data" / "alpaca_eval"

# (model knob value, style knob value) -> AlpacaEval model name
VARIANTS = {
    ("gpt4_1106_preview", "default"): "gpt4_1106_preview",
    ("gpt-3.5-turbo-1106", "default"): "gpt-3.5-turbo-1106",
    ("gpt-3.5-turbo-1106", "concise"): "gpt-3.5-turbo-1106_concise",
    ("gpt-3.5-turbo-1106", "verbose"): "gpt-3.5-turbo-1106_verbose",
    ("FuseChat-Gemma-2-9B-Instruct", "default"): "FuseChat-Gemma-2-9B-Instruct",
    ("FuseChat-Qwen-2.5-7B-Instruct", "default"): "FuseChat-Qwen-2.5-7B-Instruct",
    ("FuseChat-Llama-3.1-8B-Instruct", "default"): "FuseChat-Llama-3.1-8B-Instruct",
    ("alpaca-7b", "default"): "alpaca-7b",
    ("alpaca-7b", "concise"): "alpaca-7b_concise",
    ("alpaca-7b", "verbose"): "alpaca-7b_verbose",
}
STYLES = ["default", "concise", "verbose"]
BASELINE = ("gpt4_1106_preview", "default")
# The run whose rows give the reference order of the 805 instructions.
REFERENCE = VARIANTS[BASELINE]
# ASSUMPTION, not from the data: the daily request volume of the deployment.
REQUESTS_PER_DAY = 20000


def tokens(chars):
    """Estimated tokens: about 4 characters per token (an assumption)."""
    return round(chars / 4)


def served_by(model, style):
    return f"model={model};style={style}"


def check_labels():
    """served_by is "knob=value;knob=value": no knob value may contain ';' or '='."""
    bad = [v for v in sorted({m for m, _ in VARIANTS} | set(STYLES)) if ";" in v or "=" in v]
    if bad:
        sys.exit(f"knob values contain ';' or '=', so served_by labels would be ambiguous: {bad}")
    if any(s not in STYLES for _, s in VARIANTS):
        sys.exit(f"a variant's style is not one of {STYLES}")


def align(name, rows, ref):
    """Instruction ids for `rows` (one model's rows in file order): the unique
    increasing matching of their (instruction_chars, category) into `ref`."""
    keys = [(r["instruction_chars"], r["category"]) for r in rows]
    first, i = [], 0
    for k in keys:
        while i < len(ref) and ref[i] != k:
            i += 1
        if i == len(ref):
            sys.exit(f"{name}: its instructions do not match {REFERENCE}'s in order")
        first.append(i)
        i += 1
    last, i = [], len(ref) - 1
    for k in reversed(keys):
        while i >= 0 and ref[i] != k:
            i -= 1
        last.append(i)
        i -= 1
    last.reverse()
    # Every matching lies between the earliest and the latest one; equal means unique.
    if first != last:
        sys.exit(f"{name}: its instructions match {REFERENCE}'s in more than one way")
    return first


def main():
    check_labels()
    prices = {}
    with open(DATA / "models.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["input_usd_per_token"]:
                prices[row["model"]] = (float(row["input_usd_per_token"]), float(row["output_usd_per_token"]), row["litellm_price_key"])
    missing = [m for m in VARIANTS.values() if m not in prices]
    if missing:
        sys.exit(f"no price in models.csv for {missing}")

    by_name = defaultdict(list)
    with open(DATA / "requests.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["model"] in VARIANTS.values():
                by_name[row["model"]].append(row)
    for rs in by_name.values():
        rs.sort(key=lambda r: int(r["instruction_id"]))
    ref = [(r["instruction_chars"], r["category"]) for r in by_name[REFERENCE]]
    if [int(r["instruction_id"]) for r in by_name[REFERENCE]] != list(range(805)):
        sys.exit(f"{REFERENCE} does not have instructions 0..804")

    rows = []
    realigned = {}
    for (model, style), name in VARIANTS.items():
        pin, pout, _ = prices[name]
        ids = align(name, by_name[name], ref)
        realigned[name] = sum(i != int(r["instruction_id"]) for i, r in zip(ids, by_name[name]))
        for prompt, row in zip(ids, by_name[name]):
            tin, tout = tokens(int(row["instruction_chars"])), tokens(int(row["output_chars"]))
            score = float(row["win_prob"])
            if not 0.0 <= score <= 1.0:
                sys.exit(f"win_prob out of [0, 1]: {row}")
            rows.append({
                "variant": (model, style),
                "served_by": served_by(model, style),
                "prompt": prompt,
                "category": row["category"],
                "input_tokens": tin,
                "output_tokens": tout,
                "cost_usd": tin * pin + tout * pout,
                "score": score,
            })
    order = list(VARIANTS)
    rows.sort(key=lambda r: (order.index(r["variant"]), r["prompt"]))
    with open(HERE / "requests.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["served_by", "prompt", "category", "input_tokens", "output_tokens", "cost_usd", "score"])
        for r in rows:
            w.writerow([r["served_by"], r["prompt"], r["category"], r["input_tokens"], r["output_tokens"],
                        f"{r['cost_usd']:.10f}", f"{r['score']:.6f}"])

    by_variant = defaultdict(list)
    for r in rows:
        by_variant[r["variant"]].append(r)
    obs = {}
    for v in VARIANTS:
        rs = by_variant[v]
        obs[v] = {
            "quality_score": f"{statistics.fmean(r['score'] for r in rs):.4f}",
            "cost_per_request_usd": f"{statistics.fmean(r['cost_usd'] for r in rs):.8f}",
            "output_tokens": f"{statistics.fmean(r['output_tokens'] for r in rs):.1f}",
            "requests": len(rs),
        }

    # Check: the observations are the per-served_by means of the request file
    # as written. Tolerance: half a unit in the observation's last printed
    # digit, plus half a unit in the request file's last digit (the mean of
    # rounded values is off by at most that), plus float noise.
    written = defaultdict(list)
    with open(HERE / "requests.csv", newline="") as f:
        for r in csv.DictReader(f):
            written[r["served_by"]].append(r)
    if set(written) != {served_by(*v) for v in VARIANTS}:
        sys.exit(f"requests.csv has served_by labels {sorted(written)}")
    for v, o in obs.items():
        ws = written[served_by(*v)]
        for column, metric, obs_unit, req_unit in [
            ("cost_usd", "cost_per_request_usd", 1e-8, 1e-10),
            ("score", "quality_score", 1e-4, 1e-6),
            ("output_tokens", "output_tokens", 1e-1, 0),
        ]:
            mean = statistics.fmean(float(r[column]) for r in ws)
            tol = obs_unit / 2 + req_unit / 2 + 1e-12
            if len(ws) != o["requests"] or abs(mean - float(o[metric])) > tol:
                sys.exit(f"{served_by(*v)}: mean {column} of requests.csv ({len(ws)} rows) is {mean}, "
                         f"observation {metric} is {o[metric]} ({o['requests']} rows)")

    base = by_variant[BASELINE]
    mean_in = statistics.fmean(r["input_tokens"] for r in base)
    out = [
        "# Generated by derive.py from AlpacaEval 2.0 results; do not edit by hand.",
        "# Quality: mean judge win probability against gpt4_1106_preview over 805",
        "# instructions. Cost: LiteLLM prices x tokens ESTIMATED as round(chars / 4)",
        "# (the data has no token counts). Per-request records, one row per",
        "# (instruction, variant), are in requests.csv (served_by = \"model=...;style=...\",",
        "# prompt = AlpacaEval instruction_id); each observation below is the mean of",
        "# its variant's rows there.",
        'name = "doc-generator"',
        'kind = "rfc-generation"',
        'description = "An LLM that drafts documents from instructions: which model and answer style to serve."',
        "",
        "[[space]]",
        'name = "model"',
        'type = "choice"',
        "values = [" + ", ".join(f'"{m}"' for m in sorted({m for m, _ in VARIANTS})) + "]",
        "",
        "[[space]]",
        'name = "style"',
        'type = "choice"',
        "values = [" + ", ".join(f'"{s}"' for s in STYLES) + "]",
        "",
        "[baseline]",
        f'model = "{BASELINE[0]}"',
        f'style = "{BASELINE[1]}"',
        "",
        "[[objectives]]",
        'metric = "quality_score"',
        'direction = "maximize"',
        "",
        "[[objectives]]",
        'metric = "cost_per_request_usd"',
        'direction = "minimize"',
        "",
        "[[constraints]]",
        'metric = "quality_score"',
        "low = 0.3",
        "",
        "[workload]",
        f"requests_per_day = {REQUESTS_PER_DAY}",
        f"mean_input_tokens = {mean_in:.1f}  # estimated as round(chars / 4)",
        "",
        "[data]",
        'requests = "requests.csv"',
        "",
    ]
    for (model, style), name in VARIANTS.items():
        o = obs[(model, style)]
        out += [
            f"[[observations]]  # {name}: {o['requests']} requests, price key {prices[name][2]}",
            f'model = "{model}"',
            f'style = "{style}"',
            f"quality_score = {o['quality_score']}",
            f"cost_per_request_usd = {o['cost_per_request_usd']}",
            f"output_tokens = {o['output_tokens']}",
            "",
        ]
    (HERE / "profile.toml").write_text("\n".join(out))
    moved = ", ".join(f"{n} {k}" for n, k in realigned.items() if k) or "none"
    print(f"requests.csv: {len(rows)} rows; {len(VARIANTS)} observations; instruction ids re-derived: {moved}")


if __name__ == "__main__":
    main()
