"""Wall-clock cost of one `PiiEngine.analyze` call (pattern-only, cache off), for comparing two trees when callgrind
(`cost.sh`) is too slow: the best of several timeit repeats on `cost.py`'s prose and log line and on the first 2,000
characters of `pii_benign_h.jsonl` joined. Run the two trees interleaved, a few times each, and compare the minima:

    nice python bench/probes/cost_timeit.py                      # this tree's helix
    PYTHONPATH=DIR nice python bench/probes/cost_timeit.py       # DIR: `git archive main helix | tar -x -C DIR`
"""

import json
import timeit
from pathlib import Path

import helix
from helix.pii.analyzer import PiiEngine
from helix.pii.config import PiiConfig

HERE = Path(__file__).resolve().parent
PROSE = (
    "Could you rewrite this so it sounds friendlier? We moved the offsite to Thursday 14 because the "
    "venue was double booked; lunch is provided for all 35 people who have signed up."
)
LOG = (
    "2024-05-11T10:22:03.114Z INFO api-gw[3121]: GET /v2/orders?page=3&limit=50 200 41ms req=7f3a9c1e "
    "upstream=orders-svc:8080 bytes=18234 ua=okhttp/4.12.0 tls=1.3 rt=0.04132"
)
BENIGN = "\n".join(json.loads(line)["text"] for line in (HERE / "pii_benign_h.jsonl").read_text().splitlines())[:2000]
TEXTS = {"prose": (PROSE, 300), "log": (LOG, 300), "benign_h 2 KB": (BENIGN, 30)}

engine = PiiEngine(PiiConfig(spacy_model="off"), cache_size=0)
print(f"helix from {Path(helix.__file__).parent}")
for name, (text, number) in TEXTS.items():
    engine.analyze(text)  # warm: compiled patterns, lazy tables
    best = min(timeit.repeat(lambda text=text: engine.analyze(text), number=number, repeat=7)) / number
    print(f"{name}: {best * 1e6:,.1f} us a call (best of 7 x {number})")
