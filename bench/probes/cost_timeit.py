"""Wall-clock cost of one `PiiEngine.analyze` call (pattern-only, cache off), for comparing two trees when callgrind
(`cost.sh`) is too slow: the best of several timeit repeats on `cost.py`'s prose and log line and on the first 2,000
characters of `pii_benign_h.jsonl` joined. Run the two trees interleaved, a few times each, and compare the minima:

    nice python bench/probes/cost_timeit.py                      # this tree's helix
    PYTHONPATH=DIR nice python bench/probes/cost_timeit.py       # DIR: `git archive main helix | tar -x -C DIR`
"""

import json
import timeit
from pathlib import Path

from cost import LOG, PROSE  # this folder's: the same texts as callgrind's count

import helix
from helix.pii.analyzer import PiiEngine
from helix.pii.config import PiiConfig

HERE = Path(__file__).resolve().parent
BENIGN = "\n".join(json.loads(line)["text"] for line in (HERE / "pii_benign_h.jsonl").read_text().splitlines())[:2000]
TEXTS = {"prose": (PROSE, 300), "log": (LOG, 300), "benign_h 2 KB": (BENIGN, 30)}

engine = PiiEngine(PiiConfig(spacy_model="off"), cache_size=0)
print(f"helix from {Path(helix.__file__).parent}")
for name, (text, number) in TEXTS.items():
    engine.analyze(text)  # warm: compiled patterns, lazy tables
    best = min(timeit.repeat(lambda text=text: engine.analyze(text), number=number, repeat=7)) / number
    print(f"{name}: {best * 1e6:,.1f} us a call (best of 7 x {number})")
