"""The models Helix uses, and where each one is found.

One resolution order for every model; the first place that has it wins:
  1. config    the model's config key ([cache] embedding_model_path, [pii] spacy_model)
  2. env       the model's own variable (HELIX_EMBEDDING_MODEL_PATH, HELIX_SPACY_MODEL_PATH)
  3. bundled   shipped inside the binary or the wheel: <helix package>/_models/<folder>
  4. data dir  Helix's own model folder, <data dir>/models/<folder> (~/.local/share/helix/models),
               which `helix models pull` fills
  5. missing   the embedding model is then fetched from the Hugging Face hub on first use where the
               network allows (see helix.network); without a spaCy model PII detection is pattern-only

`resolve()` is filesystem checks only (no imports of the libraries that load the models, no network),
so `helix serve` can report it before it listens.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from helix.config import Config, data_dir

Source = Literal["config", "env", "bundled", "data dir", "missing"]
BUNDLED_DIR = Path(__file__).resolve().parent / "_models"
HUB_URL = "https://huggingface.co"  # HF_ENDPOINT replaces it, as for the Hugging Face libraries
SPACY_MODELS_URL = "https://github.com/explosion/spacy-models/releases/download"  # HELIX_SPACY_MODELS_URL
INT8_NOTE = "INT8.md"  # in an embedding model folder whose weights Helix quantized to int8


@dataclass(frozen=True)
class Remote:
    """Where `helix models pull` downloads a model from: files, or one wheel to unpack a folder of."""

    base_env: str  # the variable that moves `base` (a mirror)
    base: str
    paths: tuple[str, ...]  # relative to the base URL
    wheel_folder: str | None = None  # when `paths` is one wheel: the folder inside it that is the model

    def urls(self, env: Mapping[str, str]) -> list[tuple[str, str]]:
        base = (env.get(self.base_env) or self.base).rstrip("/")
        return [(f"{base}/{path}", path.rsplit("/", 1)[-1]) for path in self.paths]


@dataclass(frozen=True)
class ModelSpec:
    key: str
    title: str
    folder: str  # its folder name in a models directory (bundled, data dir, `pull --from`)
    config_key: str
    purpose: str
    required: tuple[str, ...]  # files that make a folder this model
    licence: str
    remote: Remote

    @property
    def env(self) -> str:
        """The variable that names this model's folder: HELIX_EMBEDDING_MODEL_PATH, HELIX_SPACY_MODEL_PATH."""
        return f"HELIX_{self.key.upper()}_MODEL_PATH"

    def complete(self, folder: Path) -> bool:
        return folder.is_dir() and all((folder / name).exists() for name in self.required)


EMBEDDING = ModelSpec(
    key="embedding",
    title="all-MiniLM-L6-v2 (ONNX)",
    folder="all-MiniLM-L6-v2-onnx",
    config_key="cache.embedding_model_path",
    purpose="semantic cache",
    required=("model.onnx", "tokenizer.json", "config.json"),
    licence="Apache-2.0",
    # The ONNX export fastembed itself downloads for sentence-transformers/all-MiniLM-L6-v2.
    remote=Remote(
        "HF_ENDPOINT",
        HUB_URL,
        tuple(
            f"Qdrant/all-MiniLM-L6-v2-onnx/resolve/main/{name}"
            for name in (
                "config.json",
                "model.onnx",
                "special_tokens_map.json",
                "tokenizer.json",
                "tokenizer_config.json",
            )
        ),
    ),
)
SPACY = ModelSpec(
    key="spacy",
    title="spaCy en_core_web_sm 3.8.0",
    folder="spacy-en_core_web_sm-3.8.0",
    config_key="pii.spacy_model",
    purpose="PII names and places (NER)",
    required=("meta.json", "config.cfg", "ner"),
    licence="MIT",
    remote=Remote(
        "HELIX_SPACY_MODELS_URL",
        SPACY_MODELS_URL,
        ("en_core_web_sm-3.8.0/en_core_web_sm-3.8.0-py3-none-any.whl",),
        wheel_folder="en_core_web_sm/en_core_web_sm-3.8.0/",
    ),
)
MODELS: tuple[ModelSpec, ...] = (EMBEDDING, SPACY)


@dataclass(frozen=True)
class Found:
    spec: ModelSpec
    source: Source
    location: str | None  # a folder, or (from the config only) an installed spaCy package name
    used: bool  # whether this configuration needs the model at all

    def describe(self) -> str:
        if self.location is None:
            hint = "downloaded on first use if online, or" if self.spec is EMBEDDING else "pattern-only PII;"
            return f"not found ({hint} run 'helix models pull')"
        int8 = ", int8" if (Path(self.location) / INT8_NOTE).is_file() else ""
        return f"{self.location} ({self.source}{int8})"


def models_dir() -> Path:
    """Helix's own model folder, inside its data dir (`HELIX_HOME` moves both)."""
    return data_dir() / "models"


def _configured(spec: ModelSpec, config: Config) -> str | None:
    return config.cache.embedding_model_path if spec is EMBEDDING else config.pii.spacy_model


def _used(spec: ModelSpec, config: Config) -> bool:
    if spec is EMBEDDING:
        return config.cache.enabled and config.cache.semantic
    return config.pii.enabled


def locate(spec: ModelSpec, config: Config, env: Mapping[str, str]) -> Found:
    used = _used(spec, config)
    configured = _configured(spec, config)
    if configured:
        return Found(spec, "config", configured, used)
    if env.get(spec.env):
        return Found(spec, "env", str(Path(env[spec.env]).expanduser()), used)
    for source, root in (("bundled", BUNDLED_DIR), ("data dir", models_dir())):
        folder = root / spec.folder
        if spec.complete(folder):
            return Found(spec, source, str(folder), used)  # type: ignore[arg-type]
    return Found(spec, "missing", None, used)


def locate_all(config: Config, env: Mapping[str, str] | None = None) -> list[Found]:
    env = os.environ if env is None else env
    return [locate(spec, config, env) for spec in MODELS]


def resolve(config: Config, env: Mapping[str, str] | None = None) -> Config:
    """The config with each model's path filled in from the first place that has it."""
    found = {f.spec.key: f.location for f in locate_all(config, env)}
    cache = msgspec.structs.replace(config.cache, embedding_model_path=found[EMBEDDING.key])
    pii = msgspec.structs.replace(config.pii, spacy_model=found[SPACY.key])
    return msgspec.structs.replace(config, cache=cache, pii=pii)
