"""Bundle the real `multipart` module (PyPI "multipart", a single `multipart.py`) that Litestar imports.

python-multipart (required by NiceGUI and Starlette) also installs a `multipart/` *package* in the
same site-packages folder. It is a shim that, at run time, searches `sys.path` for a `multipart.py`
*file* and loads it, else re-exports `python_multipart`. Python's finder prefers the package over
the module, so PyInstaller would bundle the shim; inside the archive there is no `multipart.py`
file to find, the shim falls back to python_multipart, and `litestar._multipart`'s
`from multipart import MultipartSegment, ...` fails when Litestar starts.

Point the analysis at a folder that holds a copy of `multipart.py` only, so the module (and what it
imports) is what lands in the archive. Nothing needs the shim: python_multipart's users import it
by its own name. If no `multipart.py` is installed, the default search is left alone.
"""

import shutil
import sys
from pathlib import Path

from PyInstaller.config import CONF
from PyInstaller.utils.hooks import logger


def pre_find_module_path(api):
    for entry in sys.path:
        candidate = Path(entry or ".", "multipart.py")
        if candidate.is_file():
            stage = Path(CONF["workpath"], "multipart-module")
            stage.mkdir(parents=True, exist_ok=True)
            shutil.copy2(candidate, stage / "multipart.py")
            logger.info("multipart: bundling the module %s, not python-multipart's shim package", candidate)
            api.search_dirs = [str(stage)]
            return
