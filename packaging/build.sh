#!/usr/bin/env bash
# Build dist/helix: Helix as one executable file (PyInstaller one-file), from helix/__main__.py.
#
#   packaging/build.sh            build with $PYTHON, or the active virtualenv's, or ./.venv's, or python3
#   packaging/build.sh --clean    also drop PyInstaller's cache (build/pyinstaller) first
#   packaging/build.sh --onedir   build dist/helix-onedir/ (a folder; starts fastest) instead of dist/helix
#   packaging/build.sh --compress zlib-compress the one-file archive: 105 MiB instead of 255 MiB, but every
#                                 start then takes ~1 s longer (it inflates ~275 MB); see docs/packaging.md
#   packaging/build.sh --models DIR  bundle the embedding and spaCy models from DIR (default: $HELIX_MODELS_DIR,
#                                 else ../shared/models beside the checkout); they land in helix/_models/
#   packaging/build.sh --no-models   the slim build: no models inside (users run `helix models pull`)
#   packaging/build.sh --float-embedding  bundle the embedding model as it is (87 MB) instead of its int8
#                                 quantization, made here at build time (23 MB, ~60 MiB less memory)
#
# --onedir also packs dist/helix-<version>-<os>-<arch>.tar.gz (the folder, for download): the release
# format that starts fastest, since nothing is unpacked at start.
#
# The binary is built for the OS, CPU and glibc of this machine, from the packages installed in that
# Python environment. If PyInstaller (the `binary` extra) or Helix's dependencies are missing from it,
# they are installed with `pip install -e '.[binary]'` -- only into a virtualenv, never a global Python.
# Output: dist/helix; work files: build/pyinstaller/ (both ignored by git). See docs/packaging.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Which Python: $PYTHON, else the active virtualenv's, else ./.venv's (the README's setup), else python3.
if [[ -n "${PYTHON:-}" ]]; then
    :
elif [[ -n "${VIRTUAL_ENV:-}" && -x "$VIRTUAL_ENV/bin/python" ]]; then
    PYTHON="$VIRTUAL_ENV/bin/python"
elif [[ -x "$REPO/.venv/bin/python" ]]; then
    PYTHON="$REPO/.venv/bin/python"
else
    PYTHON="$(command -v python3 || command -v python)"
fi

CLEAN=()
export HELIX_BUILD_MODE=onefile HELIX_BUILD_COMPRESS=0
export HELIX_BUILD_EMBEDDING=int8
export HELIX_BUILD_MODELS="${HELIX_MODELS_DIR:-$(cd "$REPO/.." && pwd)/shared/models}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --clean) CLEAN=(--clean) ;;
        --onedir) HELIX_BUILD_MODE=onedir ;;
        --compress) HELIX_BUILD_COMPRESS=1 ;;
        --models) shift; HELIX_BUILD_MODELS="$(cd "${1:?--models needs a folder}" && pwd)" ;;
        --no-models) HELIX_BUILD_MODELS=none ;;
        --float-embedding) HELIX_BUILD_EMBEDDING=float ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
if [[ "$HELIX_BUILD_MODELS" != none && ! -d "$HELIX_BUILD_MODELS" ]]; then
    echo "build.sh: no model folder at $HELIX_BUILD_MODELS: pass --models DIR, or --no-models for a slim build" >&2
    exit 1
fi

cd "$REPO"
echo "==> Python: $PYTHON ($("$PYTHON" -c 'import sys; print(sys.version.split()[0])'))"

if ! "$PYTHON" -c 'import PyInstaller, onnx, helix.cli, helix.app, helix.doctor, sqlite_vec, nicegui' >/dev/null 2>&1; then
    # Only ever install into a virtual environment, never into a system or pyenv-global Python.
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
        echo "build.sh: $PYTHON lacks PyInstaller or Helix's dependencies and is not a virtualenv;" >&2
        echo "  activate one (or set PYTHON=/path/to/venv/bin/python) and run: pip install -e '.[binary]'" >&2
        exit 1
    fi
    echo "==> installing Helix with the 'binary' extra into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
    "$PYTHON" -m pip install -e "$REPO[binary]"
fi
echo "==> PyInstaller $("$PYTHON" -m PyInstaller --version); models: $HELIX_BUILD_MODELS (embedding: $HELIX_BUILD_EMBEDDING)"

started=$(date +%s)
"$PYTHON" -m PyInstaller "${CLEAN[@]}" --noconfirm \
    --distpath "$REPO/dist" \
    --workpath "$REPO/build/pyinstaller/$HELIX_BUILD_MODE" \
    --log-level "${PYI_LOG_LEVEL:-WARN}" \
    "$REPO/packaging/helix.spec"
elapsed=$(( $(date +%s) - started ))

if [[ "$HELIX_BUILD_MODE" == onedir ]]; then
    binary="$REPO/dist/helix-onedir/helix"
    size=$(du -sm "$REPO/dist/helix-onedir" | cut -f1)
    version="$("$binary" --version)"
    archive="$REPO/dist/helix-$version-$(uname -s | tr A-Z a-z)-$(uname -m).tar.gz"
    # The folder is called helix/ inside the archive: users run helix/helix.
    tar -C "$REPO/dist" --transform 's|^helix-onedir|helix|' -czf "$archive" helix-onedir
    echo "==> packed $archive ($(du -m "$archive" | cut -f1) MB)"
else
    binary="$REPO/dist/helix"
    size=$(du -m "$binary" | cut -f1)
fi
[[ -x "$binary" ]] || { echo "build.sh: $binary was not produced" >&2; exit 1; }
echo "==> built $binary ($HELIX_BUILD_MODE): ${size} MB in ${elapsed} s"
if [[ "$HELIX_BUILD_MODE" == onefile && "$HELIX_BUILD_COMPRESS" == 0 ]]; then
    echo "    to publish it, compress the download: gzip -k dist/helix (about 104 MB)"
fi
"$binary" version
