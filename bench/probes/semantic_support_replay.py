"""A blind support set (H, I: written by helpers, 2026-12-07): its phrasings replayed in one cache namespace per seed,
then its near-miss pairs each in its own, through a running `helix serve` whose upstream is
`semantic_support_upstream.py` (an answer names the question it was written for).

    python bench/probes/semantic_support_replay.py PORT TAG [SET]     # SET: semantic_support_h.jsonl by default
"""

import json
import random
import sys
import time
from pathlib import Path

from openai import OpenAI

PORT = int(sys.argv[1])
TAG = sys.argv[2] if len(sys.argv) > 2 else "run1"
c = OpenAI(base_url=f"http://127.0.0.1:{PORT}/v1", api_key="anything", max_retries=0, timeout=60)
SET = Path(__file__).with_name(sys.argv[3] if len(sys.argv) > 3 else "semantic_support_h.jsonl")
rows = [json.loads(line) for line in SET.read_text().splitlines()]
phr = [r for r in rows if "text" in r]
pairs = [r for r in rows if "a" in r]
intent_of = {r["text"]: r["intent"] for r in phr}
nreq = 0


def ask(text, ns):
    global nreq
    nreq += 1
    t0 = time.time()
    r = c.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], extra_headers={"x-helix-cache-namespace": ns}
    )
    comp = r.parse()
    return {
        "text": text,
        "cache": r.headers.get("x-helix-cache"),
        "sim": r.headers.get("x-helix-cache-similarity"),
        "content": comp.choices[0].message.content,
        "ms": round((time.time() - t0) * 1000, 1),
    }


out = {"seeds": {}, "pairs": []}
for seed in (1, 2, 3):
    order = phr[:]
    random.Random(seed).shuffle(order)
    ns = f"{TAG}-seed{seed}"
    answer_src = {}  # content -> text whose MISS produced it
    asked_intents = {}  # intent -> list of texts asked so far
    recs = []
    for r in order:
        res = ask(r["text"], ns)
        res["intent"] = r["intent"]
        res["family"] = r["family"]
        prior = list(asked_intents.get(r["intent"], []))
        res["prior_same_intent"] = prior
        res["possible"] = bool(prior)
        if res["cache"] == "MISS":
            answer_src[res["content"]] = r["text"]
            res["served_for"] = r["text"]
        else:
            src = answer_src.get(res["content"])
            if src is None:  # fall back to the text named in the answer
                src = res["content"].split("written for the question: ", 1)[-1]
            res["served_for"] = src
            res["served_intent"] = intent_of.get(src, "?")
            res["correct"] = res["served_intent"] == r["intent"]
        asked_intents.setdefault(r["intent"], []).append(r["text"])
        recs.append(res)
    out["seeds"][seed] = recs
    poss = sum(x["possible"] for x in recs)
    ch = sum(1 for x in recs if x["cache"] != "MISS" and x.get("correct") and x["possible"])
    wh = sum(1 for x in recs if x["cache"] != "MISS" and not x.get("correct"))
    print(f"seed {seed}: possible {poss} correct {ch} wrong {wh}", flush=True)
for i, p in enumerate(pairs):
    for order, (x, y) in (("ab", (p["a"], p["b"])), ("ba", (p["b"], p["a"]))):
        ns = f"{TAG}-nm{i}-{order}"
        r1 = ask(x, ns)
        r2 = ask(y, ns)
        out["pairs"].append({"i": i, "kind": p["kind"], "order": order, "first": r1, "second": r2})
    print("pair", i, [q["second"]["cache"] for q in out["pairs"][-2:]], flush=True)
out["nreq"] = nreq
Path(f"results_{TAG}.json").write_text(json.dumps(out, indent=1, ensure_ascii=False))
print("requests", nreq)
