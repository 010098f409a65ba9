"""Rewrite `training/data/substitution_lexicon.json` from the v3 written training questions (`substitute.py`).

HF_HUB_OFFLINE=1 .venv/bin/python training/build_lexicon.py --spacy DIR   # ~1 min
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from judge_data import REPO, written_families
from substitute import LEXICON, build_lexicon


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spacy", type=Path, required=True, help="an en_core_web_sm pipeline folder")
    parser.add_argument(
        "--embedding-model", type=Path, default=REPO.parent / "shared" / "models" / "all-MiniLM-L6-v2-onnx"
    )
    args = parser.parse_args()
    lexicon = build_lexicon(written_families("v3"), args.spacy, args.embedding_model)
    LEXICON.write_text(json.dumps(lexicon, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(lexicon['siblings'])} replaceable words")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
