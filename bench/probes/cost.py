"""Run e.analyze(PROSE or LOG) N times, pattern-only, cache off: bench/probes/cost.sh runs it under callgrind
(instructions of N=200 minus N=0, per call)."""

import sys

from helix.pii.analyzer import PiiEngine
from helix.pii.config import PiiConfig

PROSE = (
    "Could you rewrite this so it sounds friendlier? We moved the offsite to Thursday 14 because the "
    "venue was double booked; lunch is provided for all 35 people who have signed up."
)
LOG = (
    "2024-05-11T10:22:03.114Z INFO api-gw[3121]: GET /v2/orders?page=3&limit=50 200 41ms req=7f3a9c1e "
    "upstream=orders-svc:8080 bytes=18234 ua=okhttp/4.12.0 tls=1.3 rt=0.04132"
)

if __name__ == "__main__":
    e = PiiEngine(PiiConfig(spacy_model="off"), cache_size=0)
    text = {"prose": PROSE, "log": LOG, "none": ""}[sys.argv[1]]
    n = int(sys.argv[2])
    for _ in range(5):
        e.analyze(text or "x")
    for _ in range(n):
        e.analyze(text)
