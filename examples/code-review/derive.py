#!/usr/bin/env python3
"""Derives examples/code-review/ from AlpacaEval 2.0 results.

The deployment: an LLM reviews code; the knob is which model serves the
requests. THE QUALITY DATA IS A PROXY. No public per-request code-review
judgements are available offline, so we use AlpacaEval 2.0's general
instruction-following judgements (805 instructions, none of them code
review specifically). Read every score below as "how often a GPT-4 Turbo
judge prefers this model's answer to gpt4_1106_preview's answer on a general
instruction", not as code-review accuracy.

Source: ../../../shared/data/alpaca_eval/ (per-request judgements derived from
tatsu-lab/alpaca_eval, Apache-2.0; prices from LiteLLM's price table, MIT).
See that folder's README for how those files were made.

Writes, next to this script:
  requests.csv      one row per (instruction, chosen model), 805 x 6 rows:
    served_by       the model
    prompt          the AlpacaEval instruction_id (same instruction, same id
                    across models)
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
  observations.csv  one row per model: quality_score (mean score),
                    cost_per_request_usd (mean cost_usd), output_tokens (mean),
                    requests (count).
  profile.toml      the profile; see the comments in it.

Prices: where models.csv's litellm_price_key is a "together-ai-..." tier, the
price is LiteLLM's Together AI tier for the model's parameter count, not a
listed price for that model (an assumption made by the data's authors; the
FuseChat models here are priced that way). The other chosen models have their
own LiteLLM entries.

Assumptions (not from the data): tokens = characters / 4; requests_per_day in
[workload] (REQUESTS_PER_DAY below).

Run: python3 examples/code-review/derive.py [path/to/shared/data/alpaca_eval]
"""
import csv
import statistics
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "data" / "alpaca_eval"

# The knob's values, most to least expensive per token. All are AlpacaEval
# model names with a price in models.csv. Chosen to span the price range:
# OpenAI's GPT-4 Turbo and GPT-3.5 Turbo (own LiteLLM entries), Mixtral 8x7B
# (own Together AI entry; AlpacaEval only has its "_concise" run, i.e. the
# model prompted to answer concisely, so the label keeps that suffix) and three
# 7-9B FuseChat models (Together AI size-tier prices).
MODELS = [
    "gpt4_1106_preview",
    "gpt-3.5-turbo-1106",
    "Mixtral-8x7B-Instruct-v0.1_concise",
    "FuseChat-Gemma-2-9B-Instruct",
    "FuseChat-Qwen-2.5-7B-Instruct",
    "FuseChat-Llama-3.1-8B-Instruct",
]
# What a team would start with: the strongest-reputation model, which is also
# AlpacaEval 2.0's reference answerer.
BASELINE = "gpt4_1106_preview"
# ASSUMPTION, not from the data: the daily request volume of the deployment.
REQUESTS_PER_DAY = 5000


def tokens(chars):
    """Estimated tokens: about 4 characters per token (an assumption)."""
    return round(chars / 4)


def main():
    prices = {}
    with open(DATA / "models.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["input_usd_per_token"]:
                prices[row["model"]] = (float(row["input_usd_per_token"]), float(row["output_usd_per_token"]), row["litellm_price_key"])
    missing = [m for m in MODELS if m not in prices]
    if missing:
        sys.exit(f"no price in models.csv for {missing}")

    rows = []
    with open(DATA / "requests.csv", newline="") as f:
        for row in csv.DictReader(f):
            model = row["model"]
            if model not in MODELS:
                continue
            pin, pout, _ = prices[model]
            tin, tout = tokens(int(row["instruction_chars"])), tokens(int(row["output_chars"]))
            score = float(row["win_prob"])
            if not 0.0 <= score <= 1.0:
                sys.exit(f"win_prob out of [0, 1]: {row}")
            rows.append({
                "served_by": model,
                "prompt": int(row["instruction_id"]),
                "category": row["category"],
                "input_tokens": tin,
                "output_tokens": tout,
                "cost_usd": tin * pin + tout * pout,
                "score": score,
            })
    rows.sort(key=lambda r: (MODELS.index(r["served_by"]), r["prompt"]))
    with open(HERE / "requests.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["served_by", "prompt", "category", "input_tokens", "output_tokens", "cost_usd", "score"])
        for r in rows:
            w.writerow([r["served_by"], r["prompt"], r["category"], r["input_tokens"], r["output_tokens"],
                        f"{r['cost_usd']:.10f}", f"{r['score']:.6f}"])

    by_model = defaultdict(list)
    for r in rows:
        by_model[r["served_by"]].append(r)
    obs = {}
    for m in MODELS:
        rs = by_model[m]
        obs[m] = {
            "quality_score": statistics.fmean(r["score"] for r in rs),
            "cost_per_request_usd": statistics.fmean(r["cost_usd"] for r in rs),
            "output_tokens": statistics.fmean(r["output_tokens"] for r in rs),
            "requests": len(rs),
        }
    with open(HERE / "observations.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["model", "quality_score", "cost_per_request_usd", "output_tokens", "requests"])
        for m in MODELS:
            o = obs[m]
            w.writerow([m, f"{o['quality_score']:.4f}", f"{o['cost_per_request_usd']:.8f}",
                        f"{o['output_tokens']:.1f}", o["requests"]])

    # Constraint: quality_score >= 0.5, the judge's tie point. A win
    # probability of 0.5 is what the reference gpt4_1106_preview scores
    # against itself, so the floor reads "judged, on average, at least as good
    # as the model in service today". It is the baseline's own score, not a
    # number we picked.
    floor = round(obs[BASELINE]["quality_score"], 4)
    feasible = [m for m in MODELS if round(obs[m]["quality_score"], 4) >= floor]
    if len(feasible) < 2:
        sys.exit(f"the floor {floor} leaves fewer than two feasible models: {feasible}")

    base = by_model[BASELINE]
    mean_in = statistics.fmean(r["input_tokens"] for r in base)
    mean_out = statistics.fmean(r["output_tokens"] for r in base)

    price_lines = []
    for m in MODELS:
        pin, pout, key = prices[m]
        tier = "  (Together AI size tier: ASSUMED price)" if key.startswith("together-ai-") else ""
        price_lines.append(f"#   {m}: ${pin * 1e6:g} in / ${pout * 1e6:g} out per 1M tokens, LiteLLM key {key}{tier}")
    out = [
        "# Generated by derive.py from AlpacaEval 2.0 results; do not edit by hand.",
        "#",
        "# PROXY DATA: no public per-request code-review judgements exist offline, so",
        "# quality is AlpacaEval 2.0's general instruction-following judgement: the",
        "# mean probability (over 805 instructions) that a GPT-4 Turbo judge prefers",
        "# the model's answer to gpt4_1106_preview's. It is not code-review accuracy.",
        "# Cost: LiteLLM per-token prices x tokens ESTIMATED as characters / 4 (the",
        "# data has no token counts). No latency: the data has none.",
        "# Prices used (USD):",
        *price_lines,
        'name = "code-review"',
        'kind = "code-review"',
        'description = "An LLM that reviews code: which model serves the requests. Quality is a proxy '
        '(AlpacaEval 2.0 general-instruction win probability against gpt4_1106_preview), not measured on code review."',
        "",
        "[[space]]",
        'name = "model"',
        'type = "choice"',
        "values = [" + ", ".join(f'"{m}"' for m in MODELS) + "]",
        "",
        "# Where a team would start: the strongest model on paper (also AlpacaEval's reference).",
        "[baseline]",
        f'model = "{BASELINE}"',
        "",
        "[[objectives]]",
        'metric = "quality_score"',
        'direction = "maximize"',
        "",
        "[[objectives]]",
        'metric = "cost_per_request_usd"',
        'direction = "minimize"',
        "",
        f"# Floor = the baseline's own quality_score ({floor}), the judge's tie point:",
        "# a replacement must be judged, on average, at least as good as the model in",
        "# service today. Feasible on the data: " + ", ".join(feasible) + ".",
        "[[constraints]]",
        'metric = "quality_score"',
        f"low = {floor}",
        "",
        "# requests_per_day is an ASSUMPTION (not in the data). Token means are the",
        f"# baseline's over its {len(base)} requests, estimated as characters / 4. Real",
        "# code-review prompts (diffs) are far longer than these instructions.",
        "[workload]",
        f"requests_per_day = {REQUESTS_PER_DAY}",
        f"mean_input_tokens = {mean_in:.1f}",
        f"mean_output_tokens = {mean_out:.1f}",
        "",
        "[data]",
        'observations = "observations.csv"',
        'requests = "requests.csv"',
        "",
    ]
    (HERE / "profile.toml").write_text("\n".join(out))
    print(f"requests.csv: {len(rows)} rows; observations.csv: {len(MODELS)} rows; floor {floor}; feasible {feasible}")


if __name__ == "__main__":
    main()
