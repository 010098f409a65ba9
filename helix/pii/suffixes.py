"""Whether an address's host has a registrable domain under a public suffix: the check Presidio's email
recognizer makes with `tldextract.extract(text).fqdn != ""`, without tldextract's in-memory tries.

tldextract builds two tries of dicts over the whole Public Suffix List (its private section included)
on first use: ~6 MiB of a process that must idle under 350 MiB. This reads the same bundled list
(tldextract's snapshot; Helix never downloads it), keeps its ICANN section, the part tldextract uses
by default, as one set of label suffixes, and walks a host's labels from the right as tldextract's
`suffix_index` does, wildcard (`*.ck`) and exception (`!www.ck`) rules included.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import idna
import tldextract
from tldextract.remote import lenient_netloc, looks_like_ipv6

_SNAPSHOT = Path(tldextract.__file__).parent / ".tld_set_snapshot"
_PRIVATE = "// ===BEGIN PRIVATE DOMAINS==="
_RULE = re.compile(r"^(?P<suffix>[.*!]*\w[\S]*)", re.UNICODE | re.MULTILINE)  # tldextract's own
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


@functools.cache
def _nodes() -> tuple[frozenset[str], frozenset[str]]:
    """(every rule, every right-hand part of a rule): the ends and the nodes of tldextract's trie."""
    public = _SNAPSHOT.read_text(encoding="utf-8").partition(_PRIVATE)[0]
    rules = frozenset(m.group("suffix") for m in _RULE.finditer(public))
    nodes = {".".join(rule.split(".")[i:]) for rule in rules for i in range(rule.count(".") + 1)}
    return rules, frozenset(nodes)


def _decoded(label: str) -> str:
    lowered = label.lower()
    if lowered.startswith("xn--"):
        try:
            return str(idna.decode(lowered))
        except (UnicodeError, IndexError):
            pass
    return lowered


def _suffix_index(labels: list[str]) -> int | None:
    rules, nodes = _nodes()
    path = ""
    suffix = index = len(labels)
    for label in reversed(labels):
        decoded = _decoded(label)
        child = f"{decoded}.{path}" if path else decoded
        if child in nodes:
            index -= 1
            path = child
            if path in rules:
                suffix = index
            continue
        if (f"*.{path}" if path else "*") in nodes:
            exception = (f"!{decoded}.{path}" if path else f"!{decoded}") in nodes
            return index if exception else index - 1
        break
    return None if suffix == len(labels) else suffix


def has_registrable_domain(text: str) -> bool:
    """`tldextract.extract(text).fqdn != ""` (ICANN suffixes only, as tldextract's default)."""
    host = lenient_netloc(text).translate(_DOTS)
    if len(host) >= 4 and host[0] == "[" and host[-1] == "]" and looks_like_ipv6(host[1:-1]):
        return False
    labels = host.split(".")
    index = _suffix_index(labels)
    if index is None or index <= 0:
        return False
    return bool(labels[index - 1]) and bool(".".join(labels[index:]))
