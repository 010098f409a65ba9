"""fastembed has no PyInstaller hook: it reads its own version from package metadata at import, and
picks model classes through registries; bundle every submodule and any data files it ships."""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

datas = collect_data_files("fastembed") + copy_metadata("fastembed")
hiddenimports = collect_submodules("fastembed")
