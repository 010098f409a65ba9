"""Leaks and over-redactions of a probe set through the engine (pattern-only and with spaCy)."""

import json
import sys
from pathlib import Path

from helix.pii.analyzer import PiiEngine
from helix.pii.config import PiiConfig
from helix.pii.redact import Redactor

MODEL = "/work/shared/models/spacy-en_core_web_sm-3.8.0"
leak_file, benign_file = sys.argv[1], sys.argv[2]
leaks = [json.loads(x) for x in Path(leak_file).read_text().splitlines() if x.strip()]
benign = [json.loads(x) for x in Path(benign_file).read_text().splitlines() if x.strip()]
verbose = "-v" in sys.argv
for mode, cfg in (("pattern", PiiConfig(spacy_model="off")), ("spacy", PiiConfig(spacy_model=MODEL))):
    red = Redactor(PiiEngine(cfg), hash_key="k" * 24)
    total = leaked = total_nn = leaked_nn = 0
    lines = []
    for row in leaks:
        out = red.redact([row["text"]]).texts[0]
        for v in row["planted"]:
            ner = row.get("ner") and not any(c.isdigit() or c in "@:[" for c in v) and " at " not in v
            total += 1
            total_nn += not ner
            if v in out:
                leaked += 1
                leaked_nn += not ner
                lines.append(f"  LEAK {'(name)' if ner else ''} {v!r}: {out[:90]!r}")
    over = []
    for row in benign:
        r = red.redact([row["text"]])
        if r.findings:
            over.append(f"  OVER {r.texts[0][:100]!r}")
    print(f"{mode}: leaked {leaked}/{total} (non-name {leaked_nn}/{total_nn}); over-redacted {len(over)}/{len(benign)}")
    if verbose:
        print("\n".join(lines + over))
