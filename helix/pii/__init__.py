"""PII detection, redaction and restoration (Presidio, offline).

Importing this package points tldextract at its bundled public suffix list *before* Presidio is
imported by any submodule; otherwise the email recognizer tries to download the list from GitHub
on first use (no timeout; offline it logs tracebacks before falling back).
"""

import os

os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
