"""Names by default: NER only where a name could be, only the NER component, a clear mode."""

from __future__ import annotations

import pytest

from helix.pii.analyzer import PiiEngine
from helix.pii.config import NER_OFF, NER_PACKAGES, PiiConfig, find_model
from helix.pii.names import load_ner, name_windows
from helix.pii.redact import Redactor
from tests.conftest import SPACY_MODEL


def test_windows_open_only_around_name_candidates() -> None:
    text = "The JSON export from Python failed on Tuesday. " * 3 + "Ask Maria Gonzalez about it."
    windows = name_windows(text)
    assert len(windows) == 1
    start, end = windows[0]
    assert "Maria Gonzalez" in text[start:end] and start > len(text) // 2
    assert name_windows("all lower case, no names here; OperationalError at Xq7") == []


def test_model_choice() -> None:
    assert find_model(NER_OFF) is None
    assert find_model("/some/folder") == "/some/folder"
    # Unset: the first installed English package, if any (none in the test environment).
    assert find_model(None) in (None, *NER_PACKAGES)
    assert PiiEngine(PiiConfig(spacy_model=NER_OFF)).mode == "pattern-only"


@pytest.mark.usefixtures("spacy_model")
def test_only_the_ner_component_runs_and_first_names_are_kept() -> None:
    nlp = load_ner(str(SPACY_MODEL))
    assert nlp.pipe_names == ["ner"] and load_ner(str(SPACY_MODEL)) is nlp  # loaded once per process
    redactor = Redactor(PiiEngine(PiiConfig(spacy_model=str(SPACY_MODEL))))
    texts = [
        "Message from Tomasz Kowalczyk: the build is red",
        'def test():\n    author = "Maria Gonzalez"\n    return author',
        "Convert this JSON to YAML and deploy it with Terraform on Monday",
    ]
    assert redactor.redact(texts).texts == [
        "Message from <PERSON>: the build is red",
        'def test():\n    author = "<PERSON>"\n    return author',
        "Convert this JSON to YAML and deploy it with Terraform on Monday",
    ]
