"""The secret patterns themselves, free of Presidio: vendor API keys, cloud keys, JWTs, PEM keys,
and `password=...` style assignments. `helix.pii.secrets` builds Presidio recognizers from them;
`helix.pii.scrub` uses them directly to keep credentials out of text Helix passes on (upstream errors).

The patterns are case-sensitive (key formats are) and anchored on distinctive prefixes or on an
assignment key, so ordinary prose, hashes and identifiers in code do not match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any, TypeAlias

import regex

from helix.pii.canonical import base64_bytes
from helix.pii.id_checks import luhn

Match: TypeAlias = re.Match[str] | regex.Match[str]  # patterns compile on `re` where they can, else on `regex`

FLAGS = regex.DOTALL | regex.MULTILINE


@dataclass(frozen=True, slots=True)
class SecretPattern:
    name: str
    regex: str
    score: float
    # Returns False for matches that only look like secrets (placeholders, variable names).
    check: Callable[[str], bool] | None = None
    # Sentence punctuation that an unquoted value picks up ("my password is hunter2.").
    strip_trailing: str = ""
    # Lower-case substrings one of which every match contains: a cheap `in` test skips the regex
    # scan on the (usual) prompt that holds no secret at all.
    hints: tuple[str, ...] = ()
    # Every match lies within one line and holds a hint: only the lines holding a hint are scanned.
    line_local: bool = False
    # Substrings, as written (not lower-cased), one of which every match holds too (a Dockerfile's "ENV " where `hints`
    # name the key): a text without any is not scanned.
    also: tuple[str, ...] = ()
    # The shortest value reported (a card's 3-digit security code is shorter than any password).
    min_length: int = 4
    # Returns False for whole matches that only look like one (a card's expiry after a number that is no card's).
    match_check: Callable[[Match], bool] | None = None


# --- value checks ---------------------------------------------------------------------------


def _has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value)


def _has_digit_and_letter(value: str) -> bool:
    return _has_digit(value) and any(c.isalpha() for c in value)


def _two_kinds(value: str) -> bool:
    """Two of upper case, lower case and digits."""
    return sum(any(test(c) for c in value) for test in (str.isupper, str.islower, str.isdigit)) >= 2


def _mixed_case_and_digit(value: str) -> bool:
    # Random base64 of this length almost always has all three; git SHAs (lower-case hex) never do.
    return all(any(test(c) for c in value) for test in (str.isupper, str.islower, str.isdigit))


def _generated(value: str) -> bool:
    """Letters of both cases and digits mixed as a generator mixes them: the kind of character changes at every other
    one or so ("0QFeiYr0yFqErD0N..."), where words written in CamelCase change every few ("LocalHostInstance12345")."""
    kinds = ["u" if c.isupper() else "l" if c.islower() else "d" for c in value]
    changes = sum(a != b for a, b in pairwise(kinds))
    return _mixed_case_and_digit(value) and changes >= len(value) // 3


def _session_token(value: str) -> bool:
    """A session's token: 24 or more letters, digits, "_" and "-", generated (`_generated`), a UUID or hex, or small
    letters with six digits or more among them (PHP's ids), or three in 32 or more letters and digits (Django's);
    not a talk's name ("DAY2-AFTERNOON-TRACK3") nor code (`boto3.Session(...)`)."""
    if _SESSION_CHARACTERS.fullmatch(value) is None:
        return False
    lower = value.lower()
    digits = sum(c.isdigit() for c in value)
    return (
        _generated(value)
        or _UUID_OR_HEX.fullmatch(lower) is not None
        or (value.islower() and (digits >= 6 or (digits >= 3 and len(value) >= 32 and value.isalnum())))
    )


_SESSION_CHARACTERS = regex.compile(r"[A-Za-z0-9_-]{24,}")
_UUID_OR_HEX = regex.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32,}")


_PLACEHOLDERS = """
    none null nil true false undefined str string int bytes bool optional required secret secrets
    password passwd passphrase pass pwd token apikey api_key key value xxx xxxx xxxxx xxxxxx
    example redacted hidden placeholder changeit your_password yourpassword mypassword
    your-password your_api_key your-api-key your_token your-token env getenv default empty
    changeme change_me change-me
"""
_PLACEHOLDER_WORDS = frozenset(_PLACEHOLDERS.split())
# Values that stand in for a secret rather than being one, quoted or not.
_PLACEHOLDER_VALUE = regex.compile(
    r"""
    ^[$%]                         # $VAR, ${VAR}, %(name)s
    | ^\{\{ | ^<.*>$ | ^\[.*\]$   # {{ template }}, <password>, [REDACTED]
    | ^(.)\1*$                    # ****, xxxx, ....
    | ^(?i:your[-_][a-z_-]+|[a-z_-]+[-_]here)$   # your-api-key-here, YOUR_TOKEN, insert_key_here
    | ([xX*.#])\2{7,}$            # ghp_XXXXXXXXXXXXXXXXXXXX: a prefix and filler
    """,
    regex.VERBOSE,
)
# Unquoted values that are code: another variable, a call, an attribute. Quoted values are literals.
_EXPRESSION = regex.compile(
    r"""
    ^[\w.$?!]*[(\[{][\w.$,]*[)\]}]*$  # call, subscript, literal: get_password(), os.environ.get(, a?.b(, env[, (a,
    | ^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$  # attribute access: settings.DB_PASSWORD, self.password (not Gatito.2019)
    | ^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$   # another variable's name: DB_PASSWORD
    | ^[a-z]+(?:_[a-z]+)+$         # snake_case identifier without digits: user_password
    """,
    regex.VERBOSE,
)


def _base32_in_groups(value: str) -> bool:
    """A key's groups (six to eight of base32's letters and digits), not words: three groups or more with a digit, all
    in one case ("THIS CODE WILL WORK ABC2 DEF3" has two)."""
    groups = value.split()
    return sum(any(c.isdigit() for c in g) for g in groups) >= 3 and (value.isupper() or value.islower())


def _code(value: str) -> bool:
    """An expression (`_EXPRESSION`), unless it is a Kubernetes bootstrap token ("jkoxhe.ignd2p9pwhn19ohh", six and
    sixteen small letters and digits), which reads as an attribute."""
    return _EXPRESSION.search(value) is not None and _BOOTSTRAP_TOKEN.fullmatch(value) is None


_BOOTSTRAP_TOKEN = regex.compile(r"[a-z0-9]{6}\.(?=[a-z]*\d)[a-z0-9]{16}")


def _looks_literal(value: str) -> bool:
    stripped = value.strip()
    return stripped.lower() not in _PLACEHOLDER_WORDS and not _PLACEHOLDER_VALUE.search(stripped)


def _plausible_password(value: str) -> bool:
    return len(value) >= 4 and _looks_literal(value)


def _plausible_bare_password(value: str) -> bool:
    return _plausible_password(value) and not _code(value)


_TYPOGRAPHIC_QUOTES = "«»„“”‘’「」『』‹›"  # noqa: RUF001


def _password_in_prose(value: str) -> bool:
    # "the password is required" must not match: prose values need a digit, symbol or inner capital; a word's quotation
    # marks are no symbol of it ("and the password “reset” page").
    value = value.strip(_TYPOGRAPHIC_QUOTES)
    has_signal = any(c.isdigit() or not c.isalnum() for c in value) or any(c.isupper() for c in value[1:])
    return has_signal and _plausible_bare_password(value)


def _generated_id(value: str) -> bool:
    # Generated, not a name in snake case ("sess:tf_compat_v1_Session2", Wallet("savings_wallet_2024_main")).
    return _random_looking(value) and _SNAKE_NAME.fullmatch(value) is None


_SNAKE_NAME = regex.compile(r"[A-Za-z]+[0-9]*(?:_[A-Za-z0-9]+)+")


def _device_secret(value: str) -> bool:
    # A crypt hash as IOS writes type 5, 8 and 9 secrets ("$9$..."), or a value with a digit, a symbol or an inner
    # capital: "press key 5 twice" names no secret.
    return value.startswith(("$1$", "$5$", "$8$", "$9$")) or _password_in_prose(value)


def _login_pair_password(value: str) -> bool:
    # A letter, a digit and a symbol no path, version, package, file name, arithmetic, colour or format holds
    # ("lag!Watch3r-77"; not "IPv4-only", "react@18", "total*100", "#1E90FF", "whole:.1%", "p99~12ms", "total?1:0",
    # "variant2!").
    return (
        any(c.isalpha() for c in value)
        and _has_digit(value)
        and any(c in "!$&" for c in value.rstrip(_TRAILING + "!?"))
        and _plausible_bare_password(value)
    )


def _paired_password(value: str) -> bool:
    # After a quoted key and a comma a value may be one more field's name ("PasswordRecognizer", "login password"): a
    # digit says it is not.
    return _has_digit(value) and _plausible_bare_password(value)


def _cli_password(value: str) -> bool:
    # `docker run -u 1000:1000` and `-u root:root` name a user and a group, not a password.
    return _password_in_prose(value) and not value.isdigit()


# sudo reading its password from its input (-S, -kS, --stdin) after any of its options; only those that take a value
# take one (a reviewer: `sudo -H pacman -S -` is pacman's -S)
_SUDO_STDIN = (
    r"(?:/usr/bin/)?sudo[ \t]+(?:-(?:[ugpChUrtDRT][ \t]+[^\s|;&-]\S*|-\w[\w-]*=\S+|[A-Za-z]+)[ \t]+){0,6}"
    r"(?:-[A-Za-z]*S|--stdin)\b"
)


def _wordpress_salt(value: str) -> bool:
    """WordPress's generated salts mix capitals, small letters, digits and punctuation; its sample's "put your unique
    phrase here" and templates' `{{ wordpress_auth_key }}`, `${AUTH_SALT}` or `REPLACE_WITH_...` do not."""
    kinds = (str.isupper, str.islower, str.isdigit, lambda c: not c.isalnum() and not c.isspace())
    return sum(any(kind(c) for c in value) for kind in kinds) >= 3 and len(set(value)) >= 12


def _plausible_secret(value: str) -> bool:
    return len(value) >= 8 and (_has_digit_and_letter(value) or len(value) >= 16) and _looks_literal(value)


def _plausible_bare_secret(value: str) -> bool:
    return _plausible_secret(value) and not _code(value)


def _plausible_secrets(value: str) -> bool:
    """A list's quoted items (`"a1...", "b2..."`), each of which must look like a secret."""
    items = _LIST_ITEM.findall(value)
    return bool(items) and all(_plausible_bare_secret(item) for item in items)


_LIST_ITEM = regex.compile(r"""["']([^"'\n]*)["']""")


def _paired_secret(value: str) -> bool:
    return _has_digit_and_letter(value) and _plausible_bare_secret(value)


# What a form or a schema puts after a field's name: not anyone's answer ("Memorable word: required").
_FIELD_WORDS = frozenset(("required", "optional", "string", "text", "none", "null", "n/a", "tbd", "yes", "no", "true"))


def _an_answer_not_a_field(value: str) -> bool:
    """A memorable word or a maiden name as answered, not a form's placeholder, a type (VARCHAR(64)), a format
    (DD/MM/YYYY) or a mask (******)."""
    return value.lower().strip(".") not in _FIELD_WORDS and not any(c in "()*/<>{}[]_" for c in value)


def _not_a_sequence(digits: str) -> bool:
    """Not a PIN any advice names as the one not to choose: one digit repeated (0000), or counting up or down (1234)."""
    digits = digits.replace("-", "")
    steps = {int(b) - int(a) for a, b in pairwise(digits)}
    return not (steps <= {0} or steps == {1} or steps == {-1})


def _random_looking(value: str) -> bool:
    # 20+ characters of letters and digits (and the - _ . / + = of key encodings), both kinds present, no word
    # separators: a generated key, not an identifier or a sentence. Or with other symbols too, when it also mixes
    # cases and a digit (a WordPress salt, "x9&Jq!3vZ+Lp7@dN$w2#Rk8"). Laravel writes its key as "base64:...".
    value = value.removeprefix("base64:")
    if len(value) < 20 or any(c.isspace() for c in value):
        return False
    if _RANDOM_KEY.fullmatch(value) is not None:
        return _has_digit_and_letter(value)
    return (
        any(c.islower() for c in value)
        and any(c.isupper() for c in value)
        and any(c.isdigit() for c in value)
        and any(not c.isalnum() and c not in "_.-/:" for c in value)
    )


_RANDOM_KEY = regex.compile(r"[A-Za-z0-9_./+=-]+")


# --- patterns -------------------------------------------------------------------------------

_NOT_TOKEN_BEFORE = r"(?<![A-Za-z0-9_-])"
_NOT_TOKEN_AFTER = r"(?![A-Za-z0-9_-])"
# A key's and a value's quotes may be escaped, as in JSON inside a JSON string (a HAR's postData: \"password\": \"…\").
_SEP = r"""\\?["']?[ \t]*(?::=|=>|[:=\uff1a])[ \t]*"""  # \uff1a: a fullwidth colon (CJK text)
# Values up to 4 KB (an AWS session token is ~1 KB): a value longer than the pattern allows would keep its tail.
_QUOTED_VALUE = r"""\\?(?P<q>["'`])(?P<value>[^"'`\n]{4,4096}?)\\?(?P=q)"""
# A bare value may hold a quote (Tr0ub"4dor): one followed by another of the value's characters, not by a comma, dot,
# bracket, space or the end, where a quote closes the string around the assignment ("password=s3cret", ...).
# Not an escaped quote (JSON in a JSON string), one opening a call's or a subscript's argument (os.environ["X"]), nor
# an English contraction's (a value glued to the next message's "What's" where two texts meet).
_INNER_QUOTE = r"""(?<![\\(\[{=,:])(?:["`]|'(?!(?:s|t|re|ll|ve|d|m)\b))(?=[^\s"'`<>&,;.)\]}])"""
_BARE_VALUE = (
    r"""(?P<value>(?=(?:[^\s"'`<>]|"""
    + _INNER_QUOTE
    + r"""){4})[^\s"'`<>]{1,4096}(?:"""
    + _INNER_QUOTE
    + r"""[^\s"'`<>]{1,4096})*)"""
)
# A key's bare value also ends at "&" where a URL query's next parameter begins (?token=8f14e45f&user=...), not
# inside a generated secret (Django's SECRET_KEY=...&&0Ok5cs(j+L#...).
_BARE_KEY_VALUE = r"""(?P<value>[^\s"'`<>&]{4,4096}(?:(?:&(?![\w.-]+=)|""" + _INNER_QUOTE + r""")[^\s"'`<>&]*)*)"""
# A key name ends in one of these words (DB_PASSWORD, smtp.password, new-password, client_secret).
# "password" may end a longer name (PGPASSWORD, newPassword); "pass" only after a name and "_" or "." (DB_PASS,
# smtp.pass): "first-pass: compile" is prose. A Wi-Fi network's pre-shared key is one too (psk: "...").
# A password is also named in German, French, Spanish, Portuguese, Dutch, Polish, Turkish, Russian and Swedish, and
# in Chinese, Japanese and Korean (no word boundary before those: "数据库密码").
_FOREIGN_PASSWORD_WORDS = (
    r"passwort|kennwort|mot[ _-]de[ _-]passe|contraseña|contrasena|clave (?:de acceso|del? wi-?fi|wi-?fi)|senha"
    r"|wachtwoord|hasło|şifre(?:m|si|niz)?|пароль|lösenord|mật khẩu|salasana|kata sandi"
    r"|κωδικ(?:ός|ό|ού) (?:μου|σου|πρόσβασης)"  # noqa: RUF001 - Greek: "my code", "access code"
)
# and in Arabic and Hindi (the Arabic one often after "و", "and", written as one word with it).
_CJK_ONLY_PASSWORD_WORDS = r"密码|密碼|パスワード|비밀번호"
_ARABIC_HINDI_PASSWORD_WORDS = r"كلمة (?:ال)?(?:مرور|سر)|पासवर्ड"
_CJK_PASSWORD_WORDS = f"{_CJK_ONLY_PASSWORD_WORDS}|{_ARABIC_HINDI_PASSWORD_WORDS}"
# Also in the plural (`passwords: ...`, `"api_keys": "..."`): a list's key names each of its values.
_PASSWORD_KEY = (
    r"(?i:(?:password|passwd|passphrase|(?<![a-z0-9])(?:pass_word|pwd|pw|psk)|(?<=[a-z0-9][_.])pass"
    r"|(?-i:(?:(?<=SMTP)|(?<=Smtp)|(?<=MAIL)|(?<=Mail)|(?<=FTP)|(?<=Ftp)|(?<=DB)|(?<=Db)|(?<=SQL)|(?<=LDAP))Pass))s?\b)"
    # a login's pass after its service: a Go struct's SMTPPass: ... (not SecondPass: compile, SSAOPass: 1.23ms)
)
# Their own patterns, tried only on the lines that hold one of them: in one alternation with the English words, every
# line naming a password would pay for them.
_FOREIGN_PASSWORD_KEY = rf"(?i:(?:(?<!\w)(?:{_FOREIGN_PASSWORD_WORDS})|{_CJK_PASSWORD_WORDS})\b)"
_SECRET_KEY = (
    r"(?i:(?<![a-z0-9])(?:secret|secret[_-]?key|api[_-]?key|apikey|access[_-]?key"
    r"|access[_-]?token|auth[_-]?token|refresh[_-]?token|private[_-]?token|token|account[_-]?key|sharedaccesskey"
    r"|[cx]srf[_-]?token|app[_-]?key"
    r"|private[_-]?key|preshared[_-]?key)s?\b"
    # the last word of a camelCase name (SessionToken, clientSecret, SecretAccessKey); not a bare "Key" (sortKey)
    r"|(?-i:(?<=[a-z0-9])(?:Token|Secret|AccessKey|ApiKey|AppKey|SecretKey|PrivateKey))s?\b"
    # set S: keys named for what they may do (Segment's writeKey, Algolia's and Parse's master keys)
    r"|(?<![a-z0-9])(?:write|master|admin|signing|encryption)[_-]?keys?\b"
    # set AE: what signs tokens (token-signing-material)
    r"|(?<![a-z0-9])signing[_-]?material\b"
    r"|(?<=[a-z0-9][_.])authtok\b)"  # set U: sssd.conf's ldap_default_authtok (an LDAP bind's password)
)
# Any other name ending in "key" after "_", ".", "-" or a space (MAILGUN_KEY, SECRET_KEY_BASE, private_key_id, a
# kubeconfig's client-key-data, "mistral key: ..."): the value must then look random, since code names many things a
# key (sort_key = "created_at", cache_key = "user:1", "primary key: id").
# "key" alone opening a line of a config file (TOML's `key = "..."`, YAML's `key: ...`, JSON's `"key": "..."`) is one
# too, its value checked the same way.
# So is a URL query's "key" or "appid" (?key=AIza..., &appid=3d9f...): a web API's key where the API asks for it.
_OTHER_KEY = (
    r"(?i:(?:(?<=[a-z0-9][_. -])|(?<![^\n])[ \t]*[\"']?)key(?:[_.-](?:base|id|data))?\b"
    r"|(?<=[?&])(?:key|app[_-]?id)(?==))"
)
_TRAILING = ".,;:)"
# The words that make a name/value pair's name a secret's (`name_value_pair`): found anywhere inside the name
# (API_TOKEN_FILE, DB_PASSWORD_2), where `_PASSWORD_KEY` and `_SECRET_KEY` must end at a word boundary.
_PAIR_SECRET_NAMES = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|credential"
)

_PASSWORD_HINTS = ("pass", "pwd", "pw", "psk")
_CJK_PASSWORD_HINTS = ("密码", "密碼", "パスワード", "비밀번호", "كلمة", "पासवर्ड")
# Few and short: each is looked for in every text that names a password in English too. Those beyond Latin-1 (ł, ş,
# Cyrillic, CJK) cost nothing in a Latin-1 text.
_FOREIGN_PASSWORD_HINTS = (
    *("wort", "passe", "contrase", "clave", "senha", "wachtwoord", "hasło", "şifre", "пароль", "lösenord"),
    *("mật khẩu", "κωδικ", "salasana", "sandi"),
    *_CJK_PASSWORD_HINTS,
)
_SECRET_HINTS = ("secret", "key", "token", "authtok", "signing")
_GITHUB_HINTS = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")


def _api(name: str, pattern: str, hints: tuple[str, ...], **kw: Any) -> SecretPattern:
    return SecretPattern(name, pattern, kw.pop("score", 0.95), hints=hints, **kw)


Check = Callable[[str], bool]


def _assignments(
    name: str,
    key: str,
    bare: str,
    hints: tuple[str, ...],
    score: float,
    checks: tuple[Check, Check],
    paired: Check | None = None,
) -> tuple[SecretPattern, ...]:
    """`key = "value"` and `key: value`, each value checked by its check in `checks` (quoted, bare); with a `paired`
    check also XML's `<key>value</key>` (checked as a quoted value: a literal), a call's `("key", "value")` (PHP's
    define, Java's setProperty; checked by `paired`) and a Dockerfile's `ENV key value` (checked as a bare one)."""
    quoted, unquoted = checks
    plain = (
        _api(f"{name}_quoted", key + _SEP + _QUOTED_VALUE, hints, score=score, check=quoted, line_local=True),
        _api(
            f"{name}_bare",
            key + _SEP + bare,
            hints,
            score=score,
            check=unquoted,
            strip_trailing=_TRAILING,
            line_local=True,
        ),
    )
    if paired is None:
        return plain
    return (
        *plain,
        _api(
            f"{name}_paired",
            r"""["'][\w.-]{0,40}?""" + key + r"""["'],[ \t]*""" + _QUOTED_VALUE,
            hints,
            score=score,
            check=paired,
            line_local=True,
            also=('",', "',"),
        ),
        _api(
            f"{name}_dockerfile",
            r"(?<![^\n])[ \t]*(?:ENV|ARG)[ \t]+[\w.-]*?" + key + r"[ \t]+(?P<value>[^\s\"'=]{4,4096})",
            hints,
            score=score,
            check=unquoted,
            line_local=True,
            also=("ENV ", "ARG "),
        ),
        _api(
            f"{name}_element",
            r"<[\w.:-]*?" + key + r">(?P<value>[^<>\n]{4,4096})</",
            hints,
            score=score,
            check=quoted,
            line_local=True,
            also=("</",),
        ),
    )


def _not_filler(check: Check | None) -> Check:
    """`check`, and a key that does not end in a run of filler (sk_live_xxxxxxxxxxxx, ghp_XXXX...): a placeholder in
    docs and .env.example files. A generated key's last 12 characters hold more than 3 different ones."""
    return lambda value: len(set(value[-12:])) > 3 and (check is None or check(value))


# OpenAI's and Anthropic's keys glued to a word by a hyphen ("claude-sk-proj-...", a key pasted onto a model's name):
# a prefix only keys have, or an sk- run of 32 or more digits, capitals and small letters (not "en-sk-SK-..." words).
_KEY_AFTER_A_HYPHEN = (
    r"(?<=-)(?=sk-(?:proj-|svcacct-|admin-|ant-)"
    r"|sk-(?=[A-Za-z0-9]{32,}(?![\w-]))(?=[A-Za-z]*\d)(?=[a-z0-9]*[A-Z])(?=[A-Z0-9]*[a-z]))"
)
_VENDOR_KEY_PATTERNS = [
    _api(
        "openai",
        f"(?:{_NOT_TOKEN_BEFORE}|{_KEY_AFTER_A_HYPHEN})"
        + r"sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"
        + _NOT_TOKEN_AFTER,
        ("sk-",),
        check=_has_digit_and_letter,
    ),
    _api(
        "anthropic",
        f"(?:{_NOT_TOKEN_BEFORE}|{_KEY_AFTER_A_HYPHEN})" + r"sk-ant-[A-Za-z0-9_-]{20,}" + _NOT_TOKEN_AFTER,
        ("sk-ant-",),
    ),
    # set W: an SDK's client made with its key as the first argument and no vendor prefix to know it by
    # (cohere.Client("0QFeiYr0...")): 32 to 128 letters and digits, both cases
    _api(
        "client_key",
        r"(?<![\w.])(?:\w+\.)?(?:[A-Z]\w*)?Client\(\s*(?P<q>[\"'])(?P<value>[A-Za-z0-9]{32,128})(?P=q)",
        ("client(",),
        check=_generated,
        line_local=True,
    ),
    _api("github", r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\b", _GITHUB_HINTS),
    _api("github_pat", r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b", ("github_pat_",)),
    _api("gitlab", r"\bglpat-[A-Za-z0-9_-]{20,}" + _NOT_TOKEN_AFTER, ("glpat-",)),
    _api("slack", r"\bxox[baprs]-[A-Za-z0-9-]{10,}" + _NOT_TOKEN_AFTER, ("xox",)),
    _api("slack_app", r"\bxapp-\d-[A-Za-z0-9-]{10,}" + _NOT_TOKEN_AFTER, ("xapp-",)),
    _api(
        "slack_webhook",
        r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}",
        ("hooks.slack.com",),
    ),
    _api("stripe", r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}\b", ("_live_", "_test_")),
    _api("sendgrid", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}" + _NOT_TOKEN_AFTER, ("sg.",)),
    _api("mailgun", r"\bkey-[0-9a-z]{32}\b", ("key-",), check=_has_digit_and_letter),
    _api("vault", r"\bhv[sb]\.[A-Za-z0-9_-]{24,}" + _NOT_TOKEN_AFTER, ("hvs.", "hvb.")),
    _api("digitalocean", r"\bdo[opr]_v1_[a-f0-9]{64}\b", ("_v1_",)),
    _api("pypi", r"\bpypi-AgE[A-Za-z0-9_-]{50,}" + _NOT_TOKEN_AFTER, ("pypi-",)),
    _api("stripe_webhook", r"\bwhsec_[A-Za-z0-9]{20,}\b", ("whsec_",)),
    _api("google", _NOT_TOKEN_BEFORE + r"AIza[0-9A-Za-z_-]{35}" + _NOT_TOKEN_AFTER, ("aiza",)),
    # set S: Mapbox's tokens (pk. public, sk. secret, tk. temporary: a JWT's body after the prefix), DeepL's keys (a
    # UUID and ":fx" on the free plan), a Microsoft Teams / Outlook incoming webhook's URL (posting needs nothing else)
    _api("mapbox", r"\b[pst]k\.eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}" + _NOT_TOKEN_AFTER, ("k.eyj",)),
    _api("deepl", r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:fx\b", (":fx",)),
    _api(
        "office_webhook",
        r"https://[A-Za-z0-9.-]*(?:outlook\.office\.com|webhook\.office\.com)/webhook(?:b2)?/[^\s\"'<>)]{20,}",
        ("office.com/webhook",),
    ),
    _api("google_oauth_secret", r"\bGOCSPX-[A-Za-z0-9_-]{28}" + _NOT_TOKEN_AFTER, ("gocspx-",)),
    # letters only is a token too (34 random letters and digits: some have no digit); two kinds of character, not a name
    _api("huggingface", r"\bhf_[A-Za-z0-9]{34,}\b", ("hf_",), score=0.9, check=_two_kinds),
    _api(
        "ngrok_authtoken",  # ngrok config add-authtoken 2Ab..., authtoken: 2Ab... in ngrok.yml
        r"(?i:\b(?:add-)?authtoken\b)[ \t]*[:=]?[ \t]*[\"']?(?P<value>[A-Za-z0-9_]{30,256})\b",
        ("authtoken",),
        score=0.9,
        check=_has_digit_and_letter,
    ),
    _api("npm", r"\bnpm_[A-Za-z0-9]{36}\b", ("npm_",), check=_has_digit_and_letter),
    _api("shopify", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b", ("shpat_", "shpca_", "shppa_", "shpss_")),
    # AI providers' and developer tools' keys, by their prefixes (the OpenAI-style "sk-" ones, OpenRouter's included,
    # are `openai`'s).
    _api("groq", r"\bgsk_[A-Za-z0-9]{40,}\b", ("gsk_",), check=_has_digit_and_letter),
    _api("xai", r"\bxai-[A-Za-z0-9]{40,}\b", ("xai-",), check=_has_digit_and_letter),
    _api("perplexity", r"\bpplx-[A-Za-z0-9]{40,}\b", ("pplx-",), check=_has_digit_and_letter),
    _api("replicate", r"\br8_[A-Za-z0-9]{30,}\b", ("r8_",), check=_has_digit_and_letter),
    _api("nvidia", r"\bnvapi-[A-Za-z0-9_-]{40,}" + _NOT_TOKEN_AFTER, ("nvapi-",), check=_has_digit_and_letter),
    _api("cerebras", r"\bcsk-[a-z0-9]{40,}\b", ("csk-",), check=_has_digit_and_letter),
    _api("linear", r"\blin_(?:api|oauth)_[A-Za-z0-9]{32,}\b", ("lin_api_", "lin_oauth_"), check=_has_digit_and_letter),
    _api("notion", r"\b(?:ntn_|secret_)[A-Za-z0-9]{43,}\b", ("ntn_", "secret_"), check=_has_digit_and_letter),
    _api("figma", r"\bfig[dou]_[A-Za-z0-9_-]{32,}" + _NOT_TOKEN_AFTER, ("figd_", "figo_", "figu_")),
    _api("sentry", r"\bsntry[su]_[A-Za-z0-9_=+/-]{40,}", ("sntrys_", "sntryu_")),
    _api("postman", r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b", ("pmak-",)),
    _api("doppler", r"\bdp\.(?:st|ct|pt|sa|scim|audit)\.[A-Za-z0-9_.-]{40,}" + _NOT_TOKEN_AFTER, ("dp.",)),
    _api("atlassian", r"\bATATT[A-Za-z0-9_=-]{40,}" + _NOT_TOKEN_AFTER, ("atatt",)),
    _api("age", r"\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b", ("age-secret-key-",)),
    # A BIP32 extended private key (xprv, and its SegWit forms yprv, zprv; tprv on testnet): every key of a wallet.
    _api("bip32_private", r"\b[xyzt]prv[1-9A-HJ-NP-Za-km-z]{100,112}\b", ("prv",)),
    _api("square", r"\bsq0(?:atp|csp)-[A-Za-z0-9_-]{22,}" + _NOT_TOKEN_AFTER, ("sq0atp-", "sq0csp-")),
    _api(
        "discord_webhook",
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{40,}",
        ("discord",),
    ),
    # Observability, data, hosting and CI services' tokens, by their prefixes. A hint is the part of a prefix whose
    # first letter is rare in prose where the prefix's is common ("vly-" for "tvly-"): every text is scanned for them;
    # and no hint is common in code ("sk_", "re_", "pat": ElevenLabs', Resend's and Airtable's keys are found by name
    # only).
    _api("grafana_service_account", r"\bglsa_[A-Za-z0-9]{32}_[0-9a-f]{8}\b", ("glsa_",)),
    _api("grafana_cloud", r"\bglc_[A-Za-z0-9+/_-]{32,}={0,2}", ("glc_",), check=_has_digit_and_letter),
    _api(
        "gitlab_other",  # runner, deploy, pipeline trigger, feed, OAuth app and agent tokens
        r"\bgl(?:rt|dt|ptt|ft|soat|cbt|imt|agent)-[A-Za-z0-9_-]{20,}" + _NOT_TOKEN_AFTER,
        ("glrt-", "gldt-", "glptt-", "glft-", "glsoat-", "glcbt-", "glimt-", "glagent-"),
        check=_has_digit_and_letter,
    ),
    _api("databricks", r"\bdapi[0-9a-f]{32}(?:-\d)?\b", ("dapi",), check=_has_digit_and_letter),
    # set U: Tailscale's auth, API and OAuth client keys; Braintree's access token
    _api(
        "tailscale",
        r"\btskey-(?:auth|api|client|webhook|scim)-[A-Za-z0-9]{6,}-[A-Za-z0-9]{16,}\b",
        ("tskey-",),
        check=_has_digit_and_letter,
    ),
    _api("braintree", r"\baccess_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32}\b", ("access_token$",)),
    _api("planetscale", r"\bpscale_(?:pw|tkn|oauth)_[A-Za-z0-9_.=-]{32,64}", ("pscale_",)),
    _api("docker_hub", r"\bdckr_pat_[A-Za-z0-9_-]{27,}" + _NOT_TOKEN_AFTER, ("dckr_pat_",)),
    _api("terraform_cloud", r"\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}" + _NOT_TOKEN_AFTER, ("atlasv1.",)),
    _api("langsmith", r"\blsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}\b", ("lsv2_",)),
    _api("pinecone", r"\bpcsk_[A-Za-z0-9]{4,8}_[A-Za-z0-9]{40,}\b", ("pcsk_",)),
    _api("supabase", r"\bsbp_[0-9a-f]{40}\b", ("sbp_",), check=_has_digit_and_letter),
    _api("tavily", r"\btvly-(?:dev-|prod-)?[A-Za-z0-9]{32}\b", ("vly-",), check=_has_digit_and_letter),
    _api("new_relic", r"\bNRAK-[A-Z0-9]{27}\b", ("nrak-",)),
    _api("neon", r"\bnapi_[a-z0-9]{64}\b", ("napi_",), check=_has_digit_and_letter),
    _api("netlify", r"\bnfp_[A-Za-z0-9]{36}\b", ("nfp_",), check=_has_digit_and_letter),
    _api("render", r"\brnd_[A-Za-z0-9]{32}\b", ("rnd_",), check=_has_digit_and_letter),
    _api("buildkite", r"\bbkua_[0-9a-f]{40}\b", ("kua_",), check=_has_digit_and_letter),
    _api(
        "hubspot",
        r"\bpat-(?:na|eu)\d-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        ("pat-na", "pat-eu"),
    ),
    _api("mapbox_secret", r"\bsk\.eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}", ("sk.eyj",)),
    _api("google_oauth_token", r"\bya29\.[A-Za-z0-9_-]{20,}", ("a29.",), check=_has_digit_and_letter),
    _api("firebase_server_key", r"\bAAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{40,}", ("apa91b",)),
    _api("okta", r"\bSSWS[ \t]+(?P<value>00[A-Za-z0-9_-]{40})" + _NOT_TOKEN_AFTER, ("ssws",)),
    _api("heroku", r"\bHRKU-[A-Za-z0-9_-]{30,}" + _NOT_TOKEN_AFTER, ("hrku-",), check=_has_digit_and_letter),
    # Fly.io's tokens ("FlyV1 fm2_..."), and a Weights & Biases key: 40 hex digits after its CLI's login.
    _api("fly", r"\bFlyV1[ \t]+(?P<value>fm[12][ar]?_[A-Za-z0-9+/=_,-]{20,})", ("flyv1",)),
    _api("wandb", r"\bwandb[ \t]+login[ \t]+(?:--\S+[ \t]+)*(?P<value>[0-9a-f]{40})\b", ("wandb",)),
    # A Telegram bot's token: the bot's id, a colon, and 34 or 35 characters that start "AA"; in the Bot API's URLs
    # right after "bot" (api.telegram.org/bot<token>/sendMessage).
    _api("telegram_bot", r"(?:(?<=/bot)|(?<![0-9A-Za-z]))\d{8,10}:AA[A-Za-z0-9_-]{32,33}" + _NOT_TOKEN_AFTER, (":aa",)),
    # Contentful's personal access tokens, and New Relic's license keys (36 hex digits and "NRAL").
    _api("contentful", r"\bCFPAT-[A-Za-z0-9_-]{43}" + _NOT_TOKEN_AFTER, ("cfpat-",)),
    _api("new_relic_license", r"\b[0-9a-f]{36}NRAL\b", ("nral",), check=_has_digit_and_letter),
    # set AF: Razorpay's key ids, Flutterwave's secret keys, Brevo's (Sendinblue's) API keys
    _api("razorpay", r"\brzp_(?:live|test)_[A-Za-z0-9]{14}\b", ("rzp_",), check=_has_digit_and_letter),
    _api("flutterwave", r"\bFLWSECK(?:_TEST)?-[0-9a-f]{32}-X\b", ("flwseck",)),
    _api("brevo", r"\bxkeysib-[0-9a-f]{64}-[A-Za-z0-9]{16}\b", ("xkeysib-",)),
]
API_KEY_PATTERNS = [replace(p, check=_not_filler(p.check)) for p in _VENDOR_KEY_PATTERNS]

# Keys whose prefixes are common in code ("sk_" in task_id, "pat" in path, "re_" in pre_commit, "-us" in en-us), found
# by the exact shape after them: ElevenLabs' (sk_ and 48 hex digits), Airtable's personal access tokens (pat, 14
# characters, a dot, 64 hex digits), Resend's (re_, 8 characters, "_", 24) and Mailchimp's (32 hex digits and the
# data centre, -us21). Their own recognizer, gated on substring tests of the text as written (`common_prefix_hint`).
COMMON_PREFIX_KEY_PATTERNS = [
    replace(p, check=_not_filler(p.check))
    for p in (
        _api("elevenlabs", r"\bsk_[0-9a-f]{48}\b", ("sk_",), check=_has_digit_and_letter, line_local=True),
        _api("airtable_pat", r"\bpat[A-Za-z0-9]{14}\.[0-9a-f]{64}\b", ("pat",), line_local=True),
        _api(
            "resend", r"\bre_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}\b", ("re_",), check=_has_digit_and_letter, line_local=True
        ),
        _api("mailchimp", r"\b[0-9a-f]{32}-us\d{1,2}\b", ("-us",), check=_has_digit_and_letter, line_local=True),
    )
]

# Twilio's auth token: 32 hex digits, named by nothing when passed positionally after the account SID (AC and 32 hex
# digits): Client("AC...", "5f4d..."). Its own recognizer (`secrets.py`), so its broad hint costs one search per text.
TWILIO_PATTERNS = [
    # set S: the account's SID (AC and 32 hex digits) on its own: half of the credential with the auth token, and
    # Twilio's every API URL names the account by it
    _api(
        "twilio_account_sid",
        r"AC(?<![A-Za-z0-9]AC)[0-9a-f]{32}(?![A-Za-z0-9])",
        ("ac",),
        check=_has_digit_and_letter,
        line_local=True,
    ),
    _api(
        "twilio_auth_token",
        r"AC(?<![A-Za-z0-9]AC)[0-9a-f]{32}(?![A-Za-z0-9])[^\n]{0,40}?(?<![A-Za-z0-9])(?P<value>[0-9a-f]{32})(?![A-Za-z0-9])",
        ("ac",),
        check=_has_digit_and_letter,
        line_local=True,
    ),
    # An API key's SID (SK and 32 hex digits) and the secret that comes with it, 32 letters and digits, passed after
    # it: Client("SK...", "9hVv...", account_sid). The SID is half of the credential, as an AWS access key id is.
    _api(
        "twilio_api_key_sid",
        r"SK(?<![A-Za-z0-9]SK)[0-9a-f]{32}(?![A-Za-z0-9])",
        ("sk",),
        check=_has_digit_and_letter,
        line_local=True,
    ),
    _api(
        "twilio_api_secret",
        r"SK(?<![A-Za-z0-9]SK)[0-9a-f]{32}(?![A-Za-z0-9])[^\n]{0,40}?(?<![A-Za-z0-9])(?P<value>[A-Za-z0-9]{32})(?![A-Za-z0-9])",
        ("sk",),
        check=_mixed_case_and_digit,
        line_local=True,
    ),
]


def _discord_user_id(token: str) -> bool:
    # A bot token's first part is the bot's user id (a snowflake: 17 to 20 digits) in base64.
    raw = base64_bytes(token.split(".", 1)[0])
    return raw is not None and raw.isdigit() and 17 <= len(raw) <= 20


# A Discord bot's token: its user id in base64 (digits encode to groups led by M, N or O), a timestamp and an HMAC. No
# prefix to look for: its own recognizer (`secrets.py`) looks for the timestamp between its dots first.
DISCORD_PATTERNS = [
    _api(
        "discord_bot",
        _NOT_TOKEN_BEFORE + r"[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}" + _NOT_TOKEN_AFTER,
        (),
        check=_discord_user_id,
    ),
]

AWS_ACCESS_KEY_PATTERNS = [
    _api(
        "aws_access_key_id",
        r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])",
        ("akia", "asia", "abia", "acca"),
    ),
]

AWS_SECRET_KEY_PATTERNS = [
    _api(
        "aws_secret_assignment",
        r"(?i:aws_?secret_?(?:access_?)?key|secret_?access_?key)"
        + _SEP
        + r"""["']?(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])""",
        ("secret",),
    ),
    # Bare 40-character base64: weak on its own, raised above the threshold by context words, so
    # without one of those words in the text it cannot be reported and the scan is skipped.
    _api(
        "aws_secret_bare",
        r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
        ("aws", "secret", "credentials"),
        score=0.3,
        check=_mixed_case_and_digit,
    ),
]
AWS_SECRET_CONTEXT = ["aws", "secret", "secret_access_key", "aws_secret_access_key", "credentials"]

PRIVATE_KEY_PATTERNS = [
    _api(
        "pem_private_key",
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|(?:[A-Za-z0-9+/=\s:,-]|\\n)*)",
        ("private key",),
        score=1.0,
    ),
    _api(
        # its tail on its own, the base64 lines before its END line (faults round 15): a key cut by the end of a
        # message (its second half sent in the next) or by a chunk of a huge text, whose BEGIN line is not there
        "pem_private_key_tail",
        # tried only at a run of lines' first (the lookbehind): at every line of a long base64 block it was quadratic
        r"^(?<![A-Za-z0-9+/=]\r?\n)(?:[A-Za-z0-9+/=]+\r?\n)+-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
        ("private key",),
        score=1.0,
    ),
    _api(  # a PuTTY key file (.ppk): its private part is the base64 lines after "Private-Lines: N"
        "putty_private_key",
        r"Private-Lines:[ \t]*\d+[ \t]*\r?\n(?P<value>[A-Za-z0-9+/=]+(?:\r?\n[A-Za-z0-9+/=]+(?![^\r\n]))*)",
        ("private-lines",),
        score=1.0,
    ),
]


def _basic_credentials(token: str) -> bool:
    # HTTP Basic: base64 of "user:password".
    raw = base64_bytes(token)
    return raw is not None and b":" in raw


def _jwt_header(token: str) -> bool:
    # A JWT by structure, whatever its payload: the first segment is base64url JSON naming an `alg`.
    raw = base64_bytes(token.split(".", 1)[0])
    if raw is None:
        return False
    try:
        header = json.loads(raw)
    except ValueError:
        return False
    return isinstance(header, dict) and "alg" in header


# The header is base64url of a JSON object, so it starts "ey" ({") or "ew" ({ and a newline or tab): what every JWT
# holds, and the scanner's gate for them (`scan.GATES`).
JWT_START = r"e[yw][A-Za-z0-9_-]{8}"
JWT_PATTERNS = [
    _api(
        "jwt",
        _NOT_TOKEN_BEFORE + JWT_START + r"[A-Za-z0-9_-]*+\.[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]{16,}+" + _NOT_TOKEN_AFTER,
        ("ey", "ew"),
        check=_jwt_header,
    ),
]


def _terraform_default(name: str, key: str, score: float, check: Check) -> SecretPattern:
    """A Terraform variable named as a secret and its default value, lines below its name."""
    return _api(
        name,
        r'\bvariable[ \t]+"[^"\n]*?' + key + r'[^"\n]*"[ \t]*\{[^}]*?\bdefault[ \t]*=[ \t]*"(?P<value>[^"\n]{4,4096})"',
        ('variable "',),
        score=score,
        check=check,
    )


# A pass that is a document or a ticket, its number no password ("work pass: G1234567X").
_PASS_NOUNS = ("work", "boarding", "bus", "day", "season", "guest", "visitor", "access", "press", "gate", "hall")


_PROSE_VERBS = r"(?:is|was|to|ist|lautet|est|c['\u2019]est|es|era|é|è|är|er|jest|je|là|είναι|هي|هو)"


def _password_far_in_prose(value: str) -> bool:
    # A few words from the password word, the value may be something else the sentence names ("the password reset
    # page is at https://..."): it must hold a letter and a digit, or a letter and a symbol, and be no URL or path.
    # A hyphen or an apostrophe alone is a word's ("min-length"), not a password's.
    return (
        _password_in_prose(value)
        and any(c.isalpha() for c in value)
        and any(c.isdigit() or not (c.isalnum() or c in "-'") for c in value)
        and "/" not in value
        and "=" not in value
    )


def _one_word_password(value: str) -> bool:
    # Quotation marks in prose more often set off a term ("the word « mot de passe »") than a passphrase, or a page's
    # label ("“Forgot password” link, then “Reset_Password_2”").
    return _password_far_in_prose(value) and not any(c.isspace() for c in value) and "pass" not in value.lower()


def _password_with_a_digit(value: str) -> bool:
    # Set off by commas or after a user name and a slash: a word of the sentence or a path's part otherwise ("the
    # password, twice,", "user: read/write").
    return _password_far_in_prose(value) and any(c.isdigit() for c in value)


def _password_beside_its_word(value: str) -> bool:
    # Right after the word, with no verb between ("utente flombardi, password Gatto#Nero_1977"), the value may as well
    # be how the password is made or kept ("password hashing", "password argon2id"): it must hold a letter, a digit and
    # a symbol that joins no words.
    # Set U: or two digits and letters of both cases joined by "-" or "_" ("contraseña Xq7-Pl0m-Rio"), as a version's
    # or a release's name is not ("password v2-Beta", "Python-3.12-Final": a version has its ".").
    joined = (
        len(value) >= 8
        and sum(c.isdigit() for c in value) >= 2
        and "." not in value
        and any(c in "-_" for c in value)
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
    )
    return (
        _password_far_in_prose(value)
        and any(c.isdigit() for c in value)
        and (joined or any(not c.isalnum() and c not in "-'._" for c in value))
    )


def _password_prose(
    name: str, words: str, hints: tuple[str, ...], *, far: bool = False, led: bool = False
) -> SecretPattern:
    """A password in a sentence, bare or in quotes: "my password is X", "Passwort ist X", "minha senha é X", "la
    password è X"; `far`: one to six words after the password word ("the wifi pass for the office is X", "mi contraseña
    del correo por si la necesitas: X"), on one line, where the value must look more like a password; `led`: right
    after the password word led by "with", "using" or "and" ("ssh root@host with password X")."""
    lead = r"\b(?:with|using|and)[ \t]+(?:the[ \t]+)?" if led else r"\b"
    if far:
        # French: " : "; set Y: or an aside set off by a comma right after the word, then a verb ("mot de passe,
        # l'ancien c'est X"; not "the password, once typed, is checked by : X")
        between = (
            r"(?:(?:[ \t]+[\w'-]+){1,6}?(?:[ \t]+" + _PROSE_VERBS + r"[ \t]+|[ \t]?:[ \t]+)"
            r"|,(?:[ \t]+[\w'-]+){1,3}?[ \t]+" + _PROSE_VERBS + r"[ \t]+)"
        )
    else:
        between = r"[ \t]+" if led else r"\s+" + _PROSE_VERBS + r"\s+"
    return _api(
        name,
        r"(?i:" + lead + r"(?:" + words + r")" + between + ")"
        r"""(?:`(?P<value>[^`\n]{4,128})`|'(?P<value>[^'\n]{4,128})'|"(?P<value>[^"\n]{4,128})"|"""
        r"""(?P<value>(?=(?:[^\s"'`]|"""
        + _INNER_QUOTE
        + r"""){4})[^\s"'`]{1,128}(?:"""
        + _INNER_QUOTE
        + r"""[^\s"'`]{1,128})*))""",
        hints,
        score=0.75 if far else 0.8,
        check=_password_far_in_prose if far else _password_in_prose,
        strip_trailing=_TRAILING,
        line_local=far or led,
    )


def _password_beside(name: str, lead: str, words: str, hints: tuple[str, ...]) -> SecretPattern:
    """A password right after its word, no verb between (checked by `_password_beside_its_word`)."""
    return _api(
        name,
        r"(?i:" + lead + r"(?:" + words + r")\??[ \t]+)(?P<value>[^\s\"'`«»„“”「」『』]{6,128})",
        hints,
        score=0.75,
        check=_password_beside_its_word,
        strip_trailing=_TRAILING,
        line_local=True,
    )


_PROSE_PASSWORD_WORDS = r"password|passwd|passphrase|passcode|pwd|pw|(?:wi-?fi|wlan|router)[ \t-]+pass"
# set AC: in a sentence also Arabic's ("كلمة سر الواي فاي هي ...": the Wi-Fi's password is ...)
_FOREIGN_PROSE_PASSWORD_WORDS = f"{_FOREIGN_PASSWORD_WORDS}|{_ARABIC_HINDI_PASSWORD_WORDS}"

PASSWORD_PATTERNS = [
    _api(
        "docker_auth",  # ~/.docker/config.json: {"auths": {"registry": {"auth": "base64(user:password)"}}}
        r'(?i:"auth")[ \t]*:[ \t]*"(?P<value>[A-Za-z0-9+/]{8,}={0,2})"',
        ('"auth"',),
        score=0.85,
        check=_basic_credentials,
    ),
    _api(
        "basic_auth",
        r"(?i:\bbasic[ \t]+)(?P<value>[A-Za-z0-9+/]{8,}={0,2})" + _NOT_TOKEN_AFTER,
        ("basic",),
        score=0.85,
        check=_basic_credentials,
    ),
    *_assignments(
        "password",
        _PASSWORD_KEY,
        _BARE_VALUE,
        _PASSWORD_HINTS,
        0.85,
        (_plausible_password, _plausible_bare_password),
        _paired_password,
    ),
    *_assignments(
        "password_foreign",
        _FOREIGN_PASSWORD_KEY,
        _BARE_VALUE,
        _FOREIGN_PASSWORD_HINTS,
        0.85,
        (_plausible_password, _plausible_bare_password),
        _paired_password,
    ),
    _terraform_default("password_terraform", _PASSWORD_KEY, 0.85, _plausible_password),
    _api(
        "password_pass_key",  # a quoted key may be "pass" alone: {"user": "svc", "pass": "S3cret"}
        r"""(?<=["'])pass["'][ \t]*[:=][ \t]*""" + _QUOTED_VALUE,
        ('"pass"', "'pass'"),
        score=0.85,
        check=_plausible_password,
        line_local=True,
    ),
    _password_prose("password_prose", _PROSE_PASSWORD_WORDS, _PASSWORD_HINTS),
    _password_prose("password_prose_foreign", _FOREIGN_PROSE_PASSWORD_WORDS, _FOREIGN_PASSWORD_HINTS),
    _password_prose("password_prose_far", _PROSE_PASSWORD_WORDS, _PASSWORD_HINTS, far=True),
    _password_prose("password_prose_led", _PROSE_PASSWORD_WORDS, _PASSWORD_HINTS, led=True),
    _password_prose("password_prose_far_foreign", _FOREIGN_PROSE_PASSWORD_WORDS, _FOREIGN_PASSWORD_HINTS, far=True),
    _api(
        # set AE: "pass" alone naming a quoted value at a line's start (TOML's [smtp] pass = "...", YAML's and
        # Nodemailer's pass: '...'); not code's `pass := score >= 60` nor `pass = "compile"`
        "password_pass_quoted",
        r"(?m:^[ \t]*[\"']?pass[\"']?[ \t]*[:=][ \t]*)(?P<quote>[\"'])(?P<value>[^\"'\n]{4,128})(?P=quote)",
        ("pass",),
        score=0.85,
        check=_password_in_prose,
        line_local=True,
    ),
    _api(
        # set AF: Cisco IOS's secrets, a type digit before each ("username x password 0 ...", "enable secret 9 $9$..."),
        # an SNMP community, Redis's AUTH in a MONITOR dump, a Wi-Fi key as `netsh wlan show profile` prints it; not
        # "key 5 ..." (a cache's key, a keyboard's)
        "password_device_config",
        r"(?i:(?:\b(?:password|secret) [05789] |\bsnmp-server[ \t]+community[ \t]+|(?-i:\"AUTH\")[ \t]+\""
        r"|\bkey content[ \t]*:[ \t]*))(?P<value>[^\s\"]{4,256})",
        (
            *(f"{word} {digit} " for word in ("password", "secret") for digit in "05789"),
            "community",
            '"auth"',
            "key content",
        ),
        score=0.85,
        check=_device_secret,
        strip_trailing=_TRAILING,
        line_local=True,
    ),
    _api(
        # set AE: a login given as "user / password" in a chat ("creds are admin / Stg-Adm1n!Blue"): spaces around the
        # slash (no path), a user's name before it, and a value no version or path is (`_login_pair_password`)
        "password_after_user",
        r"(?<![\w/.@-])[A-Za-z][\w.@-]{1,40}[ \t]+/[ \t]+(?P<value>[^\s/`'\"<>]{6,64})",
        (" / ",),
        score=0.8,
        check=_login_pair_password,
        strip_trailing=_TRAILING,
        line_local=True,
    ),
    _api(
        # set T: SQL's roles and users (PostgreSQL's `CREATE ROLE app LOGIN PASSWORD '...'`, MySQL's `IDENTIFIED BY
        # '...'` or `IDENTIFIED WITH mysql_native_password BY '...'`)
        "password_sql",
        r"(?i:\b(?:create|alter)[ \t]+(?:role|user)\b[^\n;]*?\b"
        r"(?:password|identified[ \t]+(?:with[ \t]+\w+[ \t]+)?by)[ \t]+)"
        r"(?P<quote>['\"])(?P<value>[^'\"\n]{4,128})(?P=quote)",
        ("password", "identified"),
        score=0.85,
        check=_plausible_password,
        line_local=True,
    ),
    _api(
        # set T: a password set off by a language's own quotation marks, a few words after its word ("mot de passe
        # « Cr0issant-Beurre77 »", "パスワードは「Sakuramochi_55」です", "das Passwort „Zugspitze!2962“")
        "password_typographic_quotes",
        r"(?i:(?:\b(?:" + _PROSE_PASSWORD_WORDS + "|" + _FOREIGN_PASSWORD_WORDS + ")|" + _CJK_PASSWORD_WORDS + ")"
        r"[^\n«„“「『]{0,40}?)"
        r"(?:«[ \t\u00a0]*(?P<value>[^»\n]{4,128}?)[ \t\u00a0]*»|„(?P<value>[^“”\n]{4,128})[“”]"
        r"|“(?P<value>[^”\n]{4,128})”|「(?P<value>[^」\n]{4,128})」|『(?P<value>[^』\n]{4,128})』)",
        (*_PASSWORD_HINTS, *_FOREIGN_PASSWORD_HINTS),
        score=0.75,
        check=_one_word_password,
        line_local=True,
    ),
    # also after a question: "Is this a strong enough password? Tr!ckyPenguin$2024"; set U: in other languages
    # ("usuario admin / contraseña Xq7-Pl0m-Rio")
    _password_beside("password_prose_beside", r"\b", _PROSE_PASSWORD_WORDS, _PASSWORD_HINTS),
    _password_beside("password_prose_beside_foreign", r"(?<!\w)", _FOREIGN_PASSWORD_WORDS, _FOREIGN_PASSWORD_HINTS),
    _api(
        "password_prose_aside",  # set R: "I always use the same password, g0ldfish-t4nk-91, for everything"
        r"(?i:\b(?:" + _PROSE_PASSWORD_WORDS + r"),[ \t]+)(?P<value>[^\s,\"'`]{6,128}),",
        _PASSWORD_HINTS,
        score=0.75,
        check=_password_with_a_digit,
        line_local=True,
    ),
    _api(
        "login_slash_password",  # set R: "login: admin / Summer2024!", "creds root/Tr0ub4dor&3"
        # set Y: or what the login is for first ("portal login for Y4-17: mum.of.two / Dino$aur2017")
        r"(?i:\b(?:login|logon|credentials|creds|user(?:name)?)(?:[ \t]+(?:for|to|of|at|on)[ \t]+[^\s:/=]{1,40})?"
        r"[ \t]*[:=]?[ \t]*[^\s/:=]{1,64}[ \t]*/[ \t]*)"
        r"(?P<value>[^\s\"'`]{4,128})",
        ("login", "logon", "cred", "user"),
        score=0.75,
        check=_password_with_a_digit,
        strip_trailing=_TRAILING,
        line_local=True,
    ),
    _api(
        # set S: a PIN or a door's, a gate's, an alarm's or a safe's code, four to eight digits further on in its
        # sentence ("his pin for the safe is 7719", "the front door code for 12 Orchard Lane is now 7391"), not a
        # measure ("pin 2 at 3300 mV") nor a part of a longer number
        "pin_code",
        r"(?i:\b(?:pin(?:[ -]?code)?|(?:door|gate|alarm|safe|lock|entry|garage|keypad|building)[ -]code)\b)"
        # set Y: or a digit at a time right after "is" or a colon ("alarm code for the surveyor: 4-9-1-7"; not "a
        # 4-2-3-1", "section 3-1-4-2")
        r"[^\n\d]{0,40}?(?<![\d.,:/-])(?P<value>\d{4,8}|(?:(?<=\bis )|(?<=:)|(?<=: ))\d(?:-\d){3,7})"
        r"(?!\d|[.,:/-]\d|[ \t]?(?i:m?v|ma|mhz|ohm|pins?)\b)",
        ("pin", "code"),
        score=0.8,
        check=_not_a_sequence,
        line_local=True,
    ),
    _api(
        # set AC: a door's or an alarm's code in French, German, Spanish and Swedish, right after its name and a verb
        # or a colon ("le code de l'alarme est 7319", "koden till porten 3581"; not "die Torcode-Funktion wurde 2023")
        "pin_code_foreign",
        r"(?i:\b(?:code (?:de l['\u2019]alarme|de la porte|d['\u2019]entrée|du portail)|digicode|(?:tür|tor|alarm)code"
        r"|código de (?:la puerta|la alarma)|koden till (?:porten|dörren|larmet)|(?:port|dörr|larm)koden?)\b)"
        r"[ \t]*(?::|=|(?:est|ist|lautet|es|är)\b)?[ \t]*(?P<value>\d{4,8})(?!\d|[.,:/-]\d)",
        ("code", "código", "kod"),
        score=0.8,
        check=_not_a_sequence,
        line_local=True,
    ),
    _api(
        # set Y: a bank's memorable word and a security question's answer, one word after the label's colon
        # ("Memorable word: tulpenveld", "Security question (mother's maiden name): Hoogendijk")
        "memorable_word",
        r"(?i:\b(?:memorable[ \t]+(?:word|phrase|name|place)|maiden[ \t]+name)\b"
        r"[^\n:?]{0,30}:[ \t]*)(?P<value>[^\s\"'`]{2,64})(?=[ \t.,;]*(?:\n|\Z))",
        ("memorable", "maiden"),
        score=0.8,
        check=_an_answer_not_a_field,
        line_local=True,
    ),
    _api(
        "login_call_password",  # set S: smtplib's server.login("me@mail.in", "Kochi@1800"), ftplib's, imaplib's
        r"""\.login\([ \t]*["'][^"'\n]{1,256}["'][ \t]*,[ \t]*["'](?P<value>[^"'\n]{4,256})["']""",
        (".login(",),
        score=0.85,
        check=_looks_literal,
        line_local=True,
    ),
    _api(
        "powershell_secure_string",  # set S: ConvertTo-SecureString "Ga_4kxw5G7kb6Z8G" -AsPlainText -Force
        r"""(?i:convertto-securestring[ \t]+(?:-string[ \t]+)?)["'](?P<value>[^"'\n]{4,256})["']""",
        ("convertto-securestring",),
        score=0.9,
        check=_looks_literal,
        line_local=True,
    ),
    _api(
        # set S: a password's hash in crypt(3)'s format (.htpasswd's $apr1$, bcrypt's $2y$, sha512-crypt's $6$,
        # yescrypt's $y$, argon2's): cracked offline, a weak password comes back
        "password_hash",
        r"\$(?:apr1|1|2[abxy]?|5|6|y|gy|argon2(?:id|i|d))\$[^\s:\"'`$]{0,64}\$(?:[^\s:\"'`$]{0,64}\$)?"
        r"[./A-Za-z0-9+=]{16,}",
        ("$apr1$", "$1$", "$2a$", "$2b$", "$2x$", "$2y$", "$5$", "$6$", "$y$", "$gy$", "$argon2"),
        score=0.85,
        line_local=True,
    ),
    _api(
        "jdbc_oracle_password",  # jdbc:oracle:thin:scott/T1ger_Prod88@//host:1521/service
        r"(?i:jdbc:oracle:[a-z0-9]+:[^\s/@:]{1,64}/)(?P<value>[^\s@]{1,128})@",
        ("jdbc:oracle",),
        score=0.9,
        line_local=True,
    ),
    _api(
        # Chinese, Japanese and Korean put no space around the password ("パスワードはHimitsu2024です"): it is the
        # ASCII after the word.
        "password_prose_cjk",
        r"(?:" + _CJK_ONLY_PASSWORD_WORDS + r")[ \t]*(?:是|は|:|\uff1a)?[ \t]*(?P<value>[!-~]{4,128})"
        # Arabic and Hindi write spaces: the password after a colon or "is" (هي, है), or Hindi's "पासवर्ड X है"
        r"|(?:" + _ARABIC_HINDI_PASSWORD_WORDS + r")[ \t]*(?:[:\uff1a]|هي|है)[ \t]*(?P<value>[!-~]{4,128})"
        r"|पासवर्ड[ \t]+(?P<value>[!-~]{4,128})[ \t]+है",
        _CJK_PASSWORD_HINTS,
        score=0.8,
        check=_password_in_prose,
        strip_trailing=_TRAILING,
        line_local=True,
    ),
    _api(
        "pass_key",  # "pass: Winter2024!", "&pass=hunter22": the value needs a digit, a symbol or an inner capital
        # "pass" first, the words before it checked after it: `re` skips ahead to each "pass" (~3x faster).
        r"(?i:pass(?<![\w-]pass)" + "".join(f"(?<!{noun} pass)" for noun in _PASS_NOUNS) + r"[ \t]*[:=][ \t]*)"
        r"""(?P<value>[^\s"'`<>&]{4,4096})""",
        _PASSWORD_HINTS,  # "pass" would do, but these lines are found already
        score=0.8,
        check=_password_in_prose,
        strip_trailing=_TRAILING,
        line_local=True,
    ),
    _api(
        "credentials_pair",  # "credentials: admin:Adm1n#2024", "db creds: admin / S3cure!Pass"
        r"(?i:\bcred(?:ential)?s\b[ \t]*[:=][ \t]*)[^\s:/]+(?::|[ \t]+/[ \t]+)(?P<value>[^\s\"'`]{4,4096})",
        ("cred",),
        score=0.8,
        check=_cli_password,
        strip_trailing=_TRAILING,
        line_local=True,
    ),
    _api(
        "wifi_qr",  # a Wi-Fi network's QR code: WIFI:T:WPA;S:name;P:password;;
        r"(?i:\bWIFI:)(?:[^;\n]*;)*?P:(?P<value>(?:\\.|[^;\\\n])+);",
        ("wifi:",),
        score=0.85,
        check=_looks_literal,
        line_local=True,
    ),
    _api(
        "netrc",  # ~/.netrc: machine host login user password S3cret
        # its fields on one line or several
        r"(?i:\bmachine[ \t]+\S+(?:\s+(?:login|account)[ \t]+\S+){0,2}\s+password[ \t]+)(?P<value>\S{3,4096})",
        ("machine",),
        score=0.85,
        check=_looks_literal,
    ),
    _api(
        "pgpass",  # ~/.pgpass: hostname:port:database:username:password (a database and a user name hold a letter)
        r"(?<![\w.-])[\w.-]+:(?:\d{2,5}|\*):[\w.*-]*[A-Za-z_*][\w.*-]*:[\w.*-]*[A-Za-z_*][\w.*-]*:(?P<value>\S{3,4096})",
        ("pgpass",),
        score=0.85,
        check=_looks_literal,
    ),
    _api(
        "openvpn_inline_auth",  # an .ovpn file's <auth-user-pass> block: the user name's line, then the password's
        r"<auth-user-pass>[ \t]*\r?\n[ \t]*[^\s<]+[ \t]*\r?\n[ \t]*(?P<value>[^\r\n<]{3,4096}?)[ \t]*\r?\n[ \t]*"
        r"</auth-user-pass>",
        ("auth-user-pass",),
        score=0.85,
        check=_looks_literal,
    ),
    _api(
        "default_login_pair",  # "the router's admin is admin/Zx81!spectrum": a default account, a slash, its password
        r"(?i:\b(?:is|are|was|says|said|login|creds?|credentials?|default|use|try)[ \t:=]+)"
        r"(?:admin|root|administrator|ubnt|pi)/"
        r"(?P<value>[^\s/\"'`]{4,128})(?![\w/])",
        ("admin/", "root/", "administrator/", "ubnt/", "pi/"),
        score=0.75,
        check=_cli_password,
        strip_trailing=_TRAILING,
        line_local=True,
    ),
    _api(
        # "card PIN: 7731", "passcode = 482913", one-time codes: "otp: 482193", "verification code is 739204"; the codes
        # of a door, a gate, an alarm or a keypad; a meeting's PIN as dial-in lines write it ("PIN 938265035#") and its
        # passcode ("Passcode 582914"); "PIN" in capitals before its digits ("PIN 4471 for the account"; not "GPIO pin
        # 1234")
        "pin",
        r"(?i:\b(?:pin(?:[ -]?code)?|passcode|otp(?:[ -]?code)?|one[ -]time[ -](?:pass)?code"
        r"|(?:verification|2fa|mfa|door|gate|alarm|keypad|lockbox|entry|garage)[ -]code)\b[ \t]*(?:is|:|=)[ \t]*"
        r"|\b(?:keypad|lockbox|garage)[ -]code[ \t]+(?=\d{4,8}(?![\w.]))"  # set X: "Lockbox code 8251"
        r"|\bpin[ \t]+(?=\d{4,12}#)|\bpasscode[ \t]+(?=\d{4,12}(?![\w.]))|(?-i:\bPIN)[ \t]+(?=\d{4,8}(?![\w.]))"
        # set Y: Spanish "clave" right before digits, after a user's id or a possessive ("usuario 538 clave 8841", "mi
        # clave 8841"; "palabras clave: 2030" are keywords)
        r"|(?:\busuario[ \t:]+\S{1,64}[ \t,;]+|\b(?:mi|tu|su)[ \t]+)clave[ \t:]+(?=\d{4,8}(?![\w.])))"
        r"(?P<value>\d{4,12})(?!\w|\.\w)",  # a sentence's full stop may follow, not a decimal's digits
        ("pin", "passcode", "otp", "one-time", "one time", "verification", "2fa", "mfa", " code", "clave"),
        score=0.8,
        line_local=True,
    ),
    _api(
        # set Z: a SIM's unblocking key ("PIN 3817, PUK 61849203"), not a default counted up ("PUK 12345678")
        "sim_puk",
        r"(?-i:\bPUK)(?:[ \t]*(?:code|is|:))?[ \t]+(?P<value>\d{8})(?!\w|\.\w)",
        ("puk",),
        score=0.8,
        check=_not_a_sequence,
        line_local=True,
    ),
    _api(
        "cli_user_password",  # curl -u admin:Sup3rS3cret!, --user=deploy:hunter22
        r"(?<!\S)(?:-u|--user)[= ]?[\"']?[^\s:\"']+:(?P<value>[^\s\"']{3,4096})",
        ("-u", "--user"),
        score=0.85,
        check=_cli_password,
    ),
    _api(
        "mysql_password",  # mysql -u app -pS3cret db: the password glued to -p
        r"(?i:\b(?:mysql\w*|mariadb\w*)\b)[^\n]*?(?<!\S)-p"
        r"(?:'(?P<value>[^'\n]{3,4096})'|\"(?P<value>[^\"\n]{3,4096})\"|(?P<value>[^\s\"'`]{3,4096}))",
        ("mysql", "mariadb"),
        score=0.85,
        check=_cli_password,
        line_local=True,
    ),
    _api(
        "cli_password_flag",  # redis-cli -a S3cret (its -p is the port), sshpass -p 'S3cret' ssh host
        r"(?i:\bredis-cli\b[^\n]*?(?<!\S)-a|\bsshpass\b[^\n]*?(?<!\S)-p)[ \t]*[\"']?(?P<value>[^\s\"'`]{3,4096})",
        ("redis-cli", "sshpass"),
        score=0.85,
        check=_cli_password,
        line_local=True,
    ),
    _api(
        "redis_conf",  # redis.conf: requirepass S3cret, masterauth S3cret
        # its line's start, or an inline quote's in prose ("the line is `requirepass S3cret`")
        r"(?<![^\n`])[ \t]*(?i:requirepass|masterauth)[ \t]+[\"']?(?P<value>[^\s\"'`]{4,4096})",
        ("requirepass", "masterauth"),
        score=0.85,
        check=_plausible_bare_password,
        line_local=True,
    ),
    _api(
        # --password X, and flags ending in one: keytool -storepass X, --db-password=X; set AG: a command's list in
        # compose or JSON (command: ["redis-server", "--requirepass", "X"])
        "password_cli",
        r"(?:(?<!\S)--?[\w-]*?(?:password|passwd|pass)[= ][\"']?"
        r"|(?<=[\"'])--[\w-]*?(?:password|passwd|pass)(?<!bypass)(?<!compass)[\"'],[ \t]*[\"'](?!-))"
        r"(?P<value>[^\s\"'`]{4,4096})",
        ("pass",),
        score=0.85,
        check=_plausible_bare_password,
    ),
    _api(
        "sudo_stdin",  # set AG: echo 'S3cret' | sudo -S apt upgrade (the password given to sudo on its input)
        # a reviewer's: `echo -n X`, `printf 'X\n'`, `printf '%s\n' X`, and sudo's options with a value before -S
        r"(?i:\b(?:echo|printf|yes)[ \t]+)(?:(?:-[a-z]{1,3}|'%s\\n'|\"%s\\n\")[ \t]+)?"
        r"(?:'(?P<value>[^'\n]{3,256}?)(?:\\n)?'|\"(?P<value>[^\"\n]{3,256}?)(?:\\n)?\"|(?P<value>[^\s\"'`|]{3,256}))"
        r"[ \t]*\|[ \t]*" + _SUDO_STDIN + r"(?![ \t]+(?:tee|dd)\b)",  # tee: a file's
        ("sudo",),
        score=0.85,
        check=_cli_password,
        line_local=True,
    ),
    _api(
        "sudo_here_string",  # a reviewer's: sudo -S apt upgrade <<< 'S3cret'
        _SUDO_STDIN + r"[^\n|;&<]{0,200}<<<[ \t]*"
        r"(?:'(?P<value>[^'\n]{3,256})'|\"(?P<value>[^\"\n]{3,256})\"|(?P<value>[^\s\"'`|;&]{3,256}))",
        ("<<<",),
        score=0.85,
        check=_cli_password,
        line_local=True,
    ),
    _api(
        "login_password",  # docker login -u ci -p 'S3cret!', podman/helm registry login, cf login -p
        r"(?i:\blogin\b)[^\n]*?(?<!\S)-p[= ]?[\"']?(?P<value>[^\s\"'`]{3,4096})",
        ("login",),
        score=0.85,
        check=_cli_password,
        line_local=True,
    ),
    _api(
        # Commands that take a password as a positional argument after the user: htpasswd -b FILE USER PASSWORD,
        # rabbitmqctl add_user/change_password USER PASSWORD, Windows' net user USER PASSWORD (not "*" or a /switch).
        "positional_password",
        r"(?i:\bhtpasswd\b[^\n]*?(?<!\S)-[a-z]*b[a-z]*(?:[ \t]+[^\s-]\S*){2}"
        r"|\brabbitmqctl[ \t]+(?:add_user|change_password)[ \t]+\S+|\bnet[ \t]+user[ \t]+[^\s/]+)"
        r"[ \t]+[\"']?(?P<value>[^\s\"'`/*][^\s\"'`]{2,255})",
        ("htpasswd", "rabbitmqctl", "net user"),
        score=0.85,
        check=_cli_password,
        line_local=True,
    ),
    _api(
        "net_use",  # Windows: net use Z: \\server\share /user:DOMAIN\user S3cret (the password after the user)
        r"(?i:\bnet[ \t]+use\b)[^\n]*?(?<!\S)/user:\S+[ \t]+(?P<value>[^\s/*\"'][^\s\"']{2,255})",
        ("/user:",),
        score=0.85,
        check=_cli_password,
        line_local=True,
    ),
    # ~/.pgpass (and pgbouncer's auth files): host:port:database:user:password, a line each; the port a number or "*".
    # With the usual ports only their lines are read; any port in a text that names the file.
    _api(
        "pgpass_usual_port",
        r"(?<![^\n])[ \t]*[^\s:#][^\s:]*:(?:5432|5433|6432|\*):[^\s:]+:[^\s:]+:(?P<value>\S{3,4096}?)[ \t]*(?![^\n])",
        (":5432:", ":5433:", ":6432:", ":*:"),
        score=0.85,
        check=_looks_literal,
        line_local=True,
    ),
    _api(
        "pgpass",
        r"(?<![^\n])[ \t]*[^\s:#][^\s:]*:(?:\d{2,5}|\*):[^\s:]+:[^\s:]+:(?P<value>\S{3,4096}?)[ \t]*(?![^\n])",
        ("pgpass",),
        score=0.85,
        check=_looks_literal,
    ),
    _api(
        # A credentials object built from literals: C#'s new NetworkCredential("user", "pass", "DOMAIN"), Java's
        # UsernamePasswordCredentials("user", "pass"), Python's HTTPBasicAuth("user", "pass") and auth=("user", "pass").
        "credentials_call",
        r"(?i:(?:credentials?|basicauth|digestauth)[ \t]*\(|\bauth ?= ?\()[ \t]*@?[\"'][^\"'\n]{1,128}[\"']"
        r"[ \t]*,[ \t]*@?" + _QUOTED_VALUE,
        ("credential", "basicauth", "digestauth", "auth=", "auth ="),
        score=0.85,
        check=_plausible_bare_password,
        line_local=True,
    ),
    _api(
        # A Wi-Fi network's key in a sentence ("the wifi key for the office is P@ssw0rd_Maya8848").
        "wifi_prose",
        r"(?i:\b(?:(?:wi-?fi|wlan|wireless|network)[ \t]+(?:key|passphrase|code)\b[^\n]{0,30}?"
        # or the network named first ("the wifi at the office is called ACME-Guest and the key is X")
        r"|(?:wi-?fi|wlan)\b[^\n]{0,60}?\b(?:key|passphrase)\b)[ \t](?:is|:)[ \t]*)"
        r"[\"'`]?(?P<value>[^\s\"'`]{6,64})",
        ("wifi", "wi-fi", "wlan", "wireless", "network"),
        score=0.8,
        check=_password_in_prose,
        strip_trailing=_TRAILING,
        line_local=True,
    ),
    _api(
        "security_answer",  # "Security answer: Kertesz1961": a password by another name, the rest of its line
        r"(?i:\b(?:security|secret)[ \t]+(?:question[ \t]+)?answers?\b[ \t]*[:=][ \t]*)(?P<value>[^\n]{2,64}?)[ \t]*$",
        ("security answer", "secret answer", "security question answer"),
        score=0.8,
        check=_plausible_bare_password,
        strip_trailing=_TRAILING,
        line_local=True,
    ),
    _api(
        "security_answer_prose",  # "I set my security answer to pumpernickel1987"
        r"(?i:\b(?:security|secret)[ \t]+answers?\b[^\n]{0,24}?[ \t]"
        + _PROSE_VERBS
        + r"[ \t]+)[\"'`]?(?P<value>[^\s\"'`]{4,128})",
        ("security answer", "secret answer"),
        score=0.8,
        check=_password_in_prose,
        strip_trailing=_TRAILING,
        line_local=True,
    ),
    _api(
        "security_answer_quoted",  # "security question answer is 'Rosebud Hollow'": quoted, spaces and all
        r"(?i:\b(?:security|secret)[ \t]+(?:question[ \t]+)?answers?\b[^\n]{0,24}?[ \t](?:is|was|:|=)[ \t]*)"
        r"(?P<quote>[\"'`])(?P<value>[^\"'`\n]{2,64})(?P=quote)",
        ("security answer", "secret answer", "security question answer"),
        score=0.8,
        check=_plausible_bare_password,
        line_local=True,
    ),
    _api(
        "card_security_code",  # "CVV 382", '"cvc":"7731"': with the card number, whoever has it can pay
        r"(?i:(?:\b(?:cvv2?|cvc2?|cvn|csc|(?:card )?security code|cryptogramme(?: visuel)?|code de s[ée]curit[ée]"
        r"|c[óo]digo de segura(?:nça|nca|ndad)|c[óo]digo de seguridad|codice di sicurezza|kartenpr[üu]fnummer"
        r"|sicherheitscode|beveiligingscode|card_?code|cc_?sec"
        r"|(?:3|4|three|four)[ -]digit code on (?:the )?(?:front|back)(?: of the card)?)"
        r"\b|セキュリティ[・ ]?コード|安全[码碼]|보안 ?코드)"
        # "|": a Markdown table's cell (set AH)
        r"[\"'\]>]?[ \t]*(?:is|est|es|é|ist|lautet|=>|:|=|#|-|(?P<cell>\|)|是|は|는|은)?[ \t]*[\"']?)"
        # a year is an edition's or a law's ("El Código de Seguridad 2015", "보안 코드 2024년 개정판")
        # in a table, the row's last cell (a reviewer: "| CVV2 | 051 | insufficient funds |" is a response code's)
        r"(?P<value>(?!(?:19|20)\d\d)\d{3,4})(?![\d/:]|[.,]\d)(?(cell)[ \t]*\|[ \t]*$)",
        (
            *("cvv", "cvc", "cvn", "csc", "security code", "cryptogramme", "de sécurité", "de securite", "de segur"),
            *("cardcode", "card_code", "cc_sec", "ccsec", "digit code on"),
            *("di sicurezza", "kartenprüfnummer", "kartenpruefnummer", "sicherheitscode", "beveiligingscode"),
            *("セキュリティ", "安全码", "安全碼", "보안"),
        ),
        score=0.8,
        line_local=True,
        min_length=3,
    ),
    _api(
        # set AG: a card's expiry after its label, right after the card's number on its line ("3472 538770 09396 exp
        # 08/28", "pan=5598-9934-9566-9544 exp=11/26", "4539 2859 5059 6154 caducidad 05/27"): with the number, what a
        # payment needs besides the code (a reviewer: a medicine's "EXP 03/2026", a visa's, a gift card promotion's
        # date, in a text that merely names a card, are no one's)
        "card_expiry",
        r"(?<!\d)(?P<card>\d(?:[ -]?\d){12,18})(?![\d])[^\n\d]{1,12}?"
        # a reviewer's: "exp. date", "Exp.Date", "valid until", "good thru", "MM/YY", "vence", 9.27, 2027/09
        r"(?i:(?:\b|(?<=_))(?:exp(?:iry|iration|ires)?(?:\.?[ _-]?date)?|valid(?: thru| through| until)"
        r"|good (?:thru|through)|mm ?/ ?yy|caducidad|vencimiento|vence|scadenza|ablaufdatum|g[üu]ltig bis"
        r"|date d'expiration|validade)\b)\.?[\"'\]>]?[ \t]*(?:is|es|est|:|=)?[ \t]*[\"']?"
        r"(?P<value>(?:0?[1-9]|1[0-2])[ \t]?[/.-][ \t]?(?:20)?\d\d|(?:0[1-9]|1[0-2])\d\d|20\d\d[/-](?:0[1-9]|1[0-2]))"
        r"(?![\w/:-]|[.,]\d)",
        (
            *("exp", "valid thru", "valid through", "valid until", "good thru", "good through", "mm/yy", "mm / yy"),
            *("caducidad", "vencimiento", "vence", "scadenza", "ablaufdatum"),
            *("gültig bis", "gultig bis", "date d'expiration", "validade"),
        ),
        score=0.8,
        line_local=True,
        min_length=4,
        match_check=lambda match: luhn("".join(c for c in match.group("card") if c.isdigit())),  # a reviewer: barcodes
    ),
    _api(
        "url_userinfo",  # the password ends at the last "@" before the host: https://user:p@ss@host
        # a scheme's name bounded: each "." or "-" of a long run began another try of the whole run (56 s on 100 KB)
        r"(?i:\b[a-z][a-z0-9+.-]{0,31}://)[^\s:/@]*:(?P<value>[^\s/]{3,4096})@(?=[^\s@/]*(?:[/?#\s\"'`)]|$))",
        ("://",),
        score=0.9,
        check=_looks_literal,
        line_local=True,
    ),
]

_CODE = r"[A-Za-z0-9]{4,5}[ -]?[A-Za-z0-9]{4,5}"  # a two-factor backup code ("4418 2290", "k2f9-x8pq")

_PLACEHOLDER_GROUPS = frozenset({"12345", "ABCDE", "XXXXX", "AAAAA", "00000", "11111"})  # "12345-ABCDE-..." in docs

SECRET_PATTERNS = [
    _api(
        # set AH: wp-config.php's keys and salts, of any printable character but the quote (a backtick too)
        "wordpress_salt",
        r"\bdefine\([ \t]*['\"](?:AUTH|SECURE_AUTH|LOGGED_IN|NONCE)_(?:KEY|SALT)['\"][ \t]*,[ \t]*"
        r"'(?P<value>[^'\n]{16,256})'",
        ("define(",),
        score=0.9,
        check=_wordpress_salt,
        line_local=True,
    ),
    _api(
        # set AG: a product key of five groups (Windows' and Office's XXXXX-XXXXX-XXXXX-XXXXX-XXXXX), letters and digits
        "product_key",
        r"(?<![\w-])(?=[A-Z0-9-]{20,29}(?![\w-]))(?=[A-Z-]*\d)(?=[\d-]*[A-Z])[A-Z0-9]{3,5}(?:-[A-Z0-9]{5}){4}(?![\w-])",
        ("licence key", "license key", "product key", "activation key", "serial number", "cd key", "cd-key"),
        score=0.85,
        check=lambda key: not any(group in _PLACEHOLDER_GROUPS for group in key.split("-")),
    ),
    _api(
        # set Z: an Ethereum account's private key in a Hardhat or Truffle config (accounts: ["0x<64 hex digits>"])
        "ethereum_accounts_key",
        r"""(?i:\baccounts["']?[ \t]*:[ \t]*\[[ \t]*["'`])(?P<value>0x[0-9a-fA-F]{64})(?![0-9a-fA-F])""",
        ("accounts",),
        score=0.9,
        line_local=True,
    ),
    _api(
        # set AC: a JSON Web Key's private parts (RSA's d, p, q and CRT values, an EC or OKP key's d, a symmetric key's
        # k); its public ones (n, e, x, y) stay
        "jwk_private",
        r"""["'](?:d|p|q|dp|dq|qi|k)["'][ \t]*:[ \t]*["'](?P<value>[A-Za-z0-9_-]{16,})["']""",
        ('"kty"', "'kty'"),
        score=0.9,
    ),
    _api(
        # set AC: an authenticator's setup key as sites show it, base32 in groups of four ("EPLE PDO4 4WW7 JYR3 ...")
        "totp_setup_key",
        r"(?<![\w-])(?P<value>(?i:[a-z2-7]{4}(?:[ \t][a-z2-7]{4}){5,7}))(?![\w-])",
        ("authenticator", "totp", "2fa", "mfa", "setup key", "secret key", "one-time", "otpauth"),
        score=0.8,
        check=_base32_in_groups,
        line_local=True,
    ),
    _api(
        "bitlocker_recovery_key",  # eight groups of six digits
        r"(?<![\d-])\d{6}(?:-\d{6}){7}(?![\d-])",
        ("bitlocker", "recovery key", "recovery password"),
        score=0.85,
    ),
    *_assignments(
        "secret",
        _SECRET_KEY,
        _BARE_KEY_VALUE,
        _SECRET_HINTS,
        0.7,
        (_plausible_secret, _plausible_bare_secret),
        _paired_secret,
    ),
    *_assignments(
        "other_key",
        _OTHER_KEY,
        _BARE_KEY_VALUE,
        ("key", "appid", "app_id", "app-id"),
        0.7,
        (_random_looking,) * 2,
        _random_looking,
    ),
    # set W: a log's "session": "y5XFqWUt..." (a session's token, `_session_token`)
    *_assignments(
        "session",
        r"(?i:(?<![\w.-])(?:php|j)?session(?:[_-]?id)?|(?<![\w.-])sessid)(?=[\"']?[ \t]*[:=])",
        _BARE_KEY_VALUE,
        ("session", "sessid"),
        0.7,
        (_session_token,) * 2,
        _session_token,
    ),
    _terraform_default("secret_terraform", _SECRET_KEY, 0.7, _plausible_secret),
    _api(
        "sas_signature",  # an Azure shared access signature in a URL's query: ?sv=...&sig=...
        r"[?&]sig=(?P<value>[A-Za-z0-9%+/=]{20,4096})",
        ("sig=",),
        score=0.8,
        check=_has_digit_and_letter,
        line_local=True,
    ),
    _api(
        # set S: the codes on the lines after their name, as Google lists them ("Your backup codes (keep safe):" /
        # "4418 2290  7731 0642"): one span from the first code to the last
        "recovery_codes_listed",
        # set AD: a blank line may stand between the name and the codes ("...store in my safe:\n\nfzdvh-6qfwe\n...")
        # set AH: numbered ("1. 7457 0877    2. 3529 4067")
        r"(?i:\b(?:recovery|backup)[ _-]codes?\b)[^\n]{0,60}\n(?:[ \t]*\n)?[ \t]*(?:\d\d?[.)][ \t]*)?"
        rf"(?P<value>{_CODE}(?:(?:[ \t]+|[ \t]*\n[ \t]*)(?:\d\d?[.)][ \t]*)?{_CODE})*)",
        ("recovery code", "backup code"),
        score=0.8,
        check=_has_digit,
    ),
    _api(
        "recovery_codes",  # two-factor backup codes: each one lets its holder in
        r"(?i:\b(?:recovery|backup)[ _-]codes?\b[ \t]*[:=-]?[ \t]*)"
        r"(?P<value>[A-Za-z0-9]{4,6}-?[A-Za-z0-9]{4,6}(?:[ ,]+[A-Za-z0-9]{4,6}-?[A-Za-z0-9]{4,6})*)",
        ("recovery code", "backup code", "recovery_code", "backup_code", "recovery-code", "backup-code"),
        score=0.8,
        check=_has_digit,
        line_local=True,
    ),
    _api(
        "secret_list",  # `"api_keys": ["...", "..."]`: every item of a list under a secret's key, as one span
        _SECRET_KEY + _SEP + r"""\[[ \t]*(?P<value>["'][^"'\n]{4,4096}["'](?:[ \t]*,[ \t]*["'][^"'\n]{4,4096}["'])*)""",
        _SECRET_HINTS,
        score=0.7,
        check=_plausible_secrets,
        line_local=True,
        also=("[",),
    ),
    _api(
        # A secret listed as a name/value pair: a Kubernetes env entry (`- name: DB_PASSWORD` then `value: ...`), HAR
        # headers and cloud tags in JSON (`{"name": "API_TOKEN", "value": "..."}`); the name says what the value is.
        "name_value_pair",
        # the name read once (a lookahead finds the secret's word, then the name is taken whole, never given back): a
        # long name of repeated words took seconds ("key=passpass...", a review's 100 KB case: 105 s)
        r"(?i:\b(?:name|key)[\"']?[ \t]*[:=][ \t]*[\"']?(?=[\w.-]*?(?:" + _PAIR_SECRET_NAMES + r"))[\w.-]++[\"']?"
        r"[ \t]*,?[ \t]*\n?[ \t]*[\"']?value[\"']?[ \t]*[:=][ \t]*)[\"']?(?P<value>[^\s\"',}]{4,4096})",
        ('"value"', "'value'", "value:", "value ="),
        score=0.7,
        check=_plausible_bare_secret,
        strip_trailing=_TRAILING,
    ),
    _api(
        # set AE: a personal access token in an environment variable named for it (AZDO_PAT, GITHUB_PAT): generated
        "personal_access_token",
        r"(?-i:\b[A-Z][A-Z0-9_]*_PAT)[ \t]*[:=][ \t]*[\"']?(?P<value>[A-Za-z0-9_-]{20,256})",
        ("_pat",),
        score=0.8,
        check=_random_looking,
        line_local=True,
    ),
    _api(
        # set AE, AF: a session's id as Redis stores it (connect-redis's "sess:<id>", in a MONITOR dump or a key list),
        # and a wallet's private key handed to ethers' Wallet
        "session_store_key",
        r"(?:\bsess:|\bWallet\([ \t]*[\"'](?:0x)?)(?P<value>[A-Za-z0-9_-]{20,128})\b",
        ("sess:", "wallet("),
        score=0.8,
        check=_generated_id,
        line_local=True,
    ),
    _api(
        "key_prose",  # "my mistral key is 8Hq2...": named in a sentence, the value must look generated
        r"(?i:\b(?:key|token|secret) is[ \t]*:?[ \t]+)[\"'`]?(?P<value>[A-Za-z0-9_./+=-]{20,4096})",
        ("key is", "token is", "secret is"),
        score=0.7,
        check=_random_looking,
        strip_trailing=_TRAILING,
        line_local=True,
    ),
    _api(
        "seed_phrase",  # a crypto wallet's recovery words: whoever has them has the wallet
        r"(?i:\b(?:seed|recovery|mnemonic|backup|secret recovery) (?:phrase|words)|\bmnemonic|\bseed)\b"
        r"[ \t]*[:=-]?[ \t]*"
        r"(?:(?:is|are|was|were)[ \t]*[:=-]?[ \t]+)?[\"'`]?(?P<value>(?:[a-z]{3,8} ){11,23}[a-z]{3,8})\b",
        ("phrase", "mnemonic", "words", "seed"),
        score=0.9,
        line_local=True,  # "words" is in many prompts ("under 300 words"): only its lines are scanned
    ),
    _api(
        # A session in a pasted Cookie or Set-Cookie header or curl's -b/--cookie: each long value, one match a cookie.
        "cookie",
        # The header's colon may be left out where a log line names it ("DEBUG set-cookie sessionid=..."); a HAR file
        # writes a header as {"name": "Cookie", "value": "..."}.
        r"(?<=(?:(?i:\bcookie)(?:[ \t]*[: \t]|\"[ \t]*,[ \t]*\"value\"[ \t]*:[ \t]*\")"
        r"|(?<!\S)(?:-b|--cookie)[ \t=]+[\"']?)(?:[^\n]*;)?[ \t]*)"
        r"[!#$%&*+.^_`|~0-9A-Za-z-]+=(?P<value>[^;\s\"',]{16,4096})",
        ("cookie", "-b"),
        score=0.7,
        check=_plausible_secret,
        line_local=True,
    ),
    _api(
        # set U: a session in a URL (Java's ";jsessionid=", PHP's "?PHPSESSID="): whoever holds it is logged in
        "session_in_url",
        r"[;?&](?i:jsessionid|phpsessid|sessionid|session_id|sid)=(?P<value>[A-Za-z0-9]{16,512})(?![\w~-])",
        ("jsessionid", "phpsessid", "sessionid", "session_id", "sid="),
        score=0.7,
        check=_has_digit_and_letter,  # random: not a page's slug (?session_id=getting-started-guide-v2)
    ),
    _api(
        # An Authorization header's credentials whatever the scheme (Token, ApiKey, Digest...; Bearer and Basic too).
        "authorization_header",
        # A header in code is a quoted key and value too ({"Authorization": "Token ..."}, ("Authorization", "...")).
        r"(?i:\bauthorization[\"']?[ \t]*[:,][ \t]*[\"']?(?:[A-Za-z][A-Za-z0-9_-]*[ \t]+)?)"
        r"(?P<value>[A-Za-z0-9._~+/=-]{16,})",
        ("authorization",),
        score=0.7,
        check=_plausible_secret,
        line_local=True,
    ),
    _api(
        # An authenticator app's seed, named in prose ("TOTP secret JBSW Y3DP ..."): base32, often in groups of four.
        "totp_seed",
        r"(?i:\b(?:totp|2fa|mfa|otp|authenticator)\b[^\n]{0,30}?\b(?:secret|seed|key)\b[ \t]*(?:is|:|=)?[ \t]*)"
        r"(?P<value>[A-Z2-7]{4}(?: ?[A-Z2-7]{4}){3,15})(?![A-Za-z0-9])",
        ("totp", "2fa", "mfa", "otp", "authenticator"),
        score=0.7,
        line_local=True,
    ),
    _api(
        # A wallet's private key (an Ethereum key: 64 hex digits, often after 0x) passed to what signs with it or
        # named as one; the same digits after "tx" or "hash" are a transaction's hash, public.
        "hex_private_key",
        r"(?i:(?:priv(?:ate)?|secret|signing|from)[_ -]?key\b[^\n]{0,24}?)"
        r"(?<![0-9A-Za-z])(?P<value>(?:0x)?[0-9a-fA-F]{64})(?![0-9A-Za-z])",
        ("key",),
        score=0.8,
        check=_has_digit_and_letter,
        line_local=True,
    ),
    _api(
        # A password's hash as systems store it (bcrypt, Argon2, SHA-crypt): whoever has it can try passwords offline.
        "password_hash",
        r"\$(?:2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}|argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{8,}\$[A-Za-z0-9+/]{16,}"
        r"|[56]\$(?:rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{43,86})(?![./A-Za-z0-9$])",
        ("$2", "$argon2", "$5$", "$6$"),
        score=0.9,
    ),
    _api(
        # A cookies.txt line (Netscape's format, as curl and browser extensions export it): domain, subdomains, path,
        # secure, expiry, name, value; the value is a session's.
        "cookies_txt",
        r"(?m:^[^\s]+\t(?:TRUE|FALSE)\t[^\t\n]*\t(?:TRUE|FALSE)\t\d+\t[^\t\n]+\t)(?P<value>[^\t\n]{8,4096})$",
        ("\ttrue\t", "\tfalse\t"),
        score=0.8,
        check=_plausible_secret,
        line_local=True,
    ),
    _api(
        "bearer",
        r"(?i:\bbearer[ \t]+)(?P<value>[A-Za-z0-9._~+/=-]{16,})",
        ("bearer",),
        score=0.7,
        check=_plausible_secret,
    ),
]
