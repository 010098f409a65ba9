"""tldextract ships a snapshot of the public suffix list (`.tld_set_snapshot`) that Helix relies on:
it sets TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="" so the list is never downloaded. Bundle it."""

from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("tldextract", include_py_files=False)
