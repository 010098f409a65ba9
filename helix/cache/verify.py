"""Deterministic verification of a semantic-cache hit.

Cosine similarity says two questions are about the same thing, not that they deserve the same
answer: with all-MiniLM-L6-v2 "turn on dark mode" / "turn off dark mode" score 0.95, "convert 100
USD to EUR" / "convert 100 EUR to USD" 0.98, while genuine paraphrases often score 0.5-0.8. So the
similarity is only a floor (``DEFAULT_THRESHOLD``) and a hit is served only when both texts say the
same thing *lexically*, modulo wording that cannot change the answer.

Both texts are normalised the same way: lower-cased; contractions expanded ("can't" -> "can not");
greetings and politeness dropped; multi-word phrases and synonyms mapped to one token ("turn on" /
"switch on" / "activate" / "turn X on" -> enable, "sign in" -> login, "js" -> javascript, "parcel"
-> package, "$" -> usd); a light suffix stemmer ("returning" -> return); numbers parsed from digits
and words ("two hundred" -> 200, "twice" / "two times" -> 2, "third" / "3rd" -> ordinal 3, "4GB" ->
4 gb); obvious typos aligned against the other text ("pasword" -> password, "pyhton" -> python), but
never between two known words (Iceland / Ireland, desert / dessert) nor in capitalised names. Then
every rule below must pass, and the first that fails is the Verdict's reason:

1. negation  - the number of negations (not, no, never, without, n't, non-, unable...) is equal.
2. antonym   - no word on one side whose opposite is on the other: a curated symmetric table
               (upgrade/downgrade, add/remove, buy/sell, import/export, encrypt/decrypt, min/max,
               read/write, ...), un-/dis-/de- prefixes, and polarity particles that are otherwise
               ignorable (on/off after turn/switch, in/out, to/from, more/less, before/after...).
3. number    - the multisets of numbers are equal (prices, versions, order ids, percentages).
4. question  - the typed question words match: who / when / where / why / how long / should /
               must ("what year" is when); "what is X" (a definition) is not "how do I X" (a
               procedure). Plain what / which / how are free; a one-sided "how many/much" too.
5. content   - every content-bearing word (anything outside the light vocabulary of function
               words, pronouns, modal verbs, politeness and framing such as "how do I", "is it
               possible to", "explain", "steps") has its counterpart on the other side. This rejects
               different entities (python/rust, Canada/Mexico, useEffect/useState, .yaml/.toml, URLs,
               e-mails, operators), units, same-topic-different-question pairs (reset my password /
               reset my PIN) and added scope ("center a div" vs "center a div vertically").
6. order     - with the same words, order must agree where it carries meaning: the words around a
               direction word (to, into, from, than, instead of, but, except, then; with/for after
               replace/swap) keep their side and role ("USD to EUR" vs "EUR to USD", "to savings
               from checking" vs "from savings to checking"); units, currencies, languages and file
               formats keep their order anywhere ("30 Celsius in Fahrenheit"). Symmetric framing
               (vs, and, or, between, difference, compare) exempts the pair.
7. person    - "your X" is not "my X" when each side names only one of them.
8. empty     - two texts with no content word at all ("hi" / "hello") only match if identical.
9. quoted    - every quoted or back-ticked string appears verbatim on the other side.

The verifier only ever vetoes: it never serves a pair below the threshold. The trade is tilted to
precision on purpose: a rejected paraphrase costs one upstream call, a wrong cached answer costs the
user's trust. Per-call cost is ~0.1 ms (texts are parsed once and cached). Measured on
tests/data/semantic_pairs.jsonl by bench/semantic_eval.py; see docs/semantic-cache.md.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["DEFAULT_THRESHOLD", "Verdict", "verify"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Tuned on the "tune" split of tests/data/semantic_pairs.jsonl by bench/semantic_eval.py: the highest
# floor whose verified recall is within 0.02 of the recall at 0.50. Precision is 1.0 at every floor
# there, so the floor only cuts pairs the model finds unrelated (mostly garbled typos, cosine < 0.6).
DEFAULT_THRESHOLD = 0.70


@dataclass(frozen=True, slots=True)
class Verdict:
    accepted: bool
    reason: str


# fmt: off
# --------------------------------------------------------------------------------------------
# Lexicons. Entries are surface words; they are stemmed at import so inflections match.
# --------------------------------------------------------------------------------------------

_NEGATIONS = frozenset(
    _words("not no never none nothing nobody nowhere neither nor without cannot non unable")
)
_NT_WORDS = {  # apostrophe-less forms users actually type
    "dont": "do", "doesnt": "does", "didnt": "did", "isnt": "is", "arent": "are", "wasnt": "was",
    "werent": "were", "havent": "have", "hasnt": "has", "hadnt": "had", "cant": "can",
    "couldnt": "could", "shouldnt": "should", "wouldnt": "would", "wont": "will", "aint": "is",
    "mustnt": "must", "neednt": "need",
}
_SLANG = {
    "u": "you", "ur": "your", "pls": "please", "plz": "please", "thx": "thanks", "ty": "thanks",
    "teh": "the", "whats": "what", "hows": "how", "wheres": "where", "whos": "who", "im": "i",
    "ive": "i", "youre": "you", "thats": "that", "theres": "there", "lets": "let",
}
_IRREGULAR = {
    "got": "get", "gotten": "get", "getting": "get", "made": "make", "wrote": "write",
    "written": "write", "ran": "run", "running": "run", "went": "go", "gone": "go", "sold": "sell",
    "bought": "buy", "paid": "pay", "sent": "send", "built": "build", "took": "take",
    "taken": "take", "gave": "give", "given": "give", "knew": "know", "known": "know",
    "found": "find", "lost": "lose", "won": "win", "broke": "break", "broken": "break",
    "ate": "eat", "eaten": "eat", "drank": "drink", "thought": "think", "told": "tell",
    "began": "begin", "begun": "begin", "chose": "choose", "chosen": "choose", "forgot": "forget",
    "forgotten": "forget", "children": "child", "kids": "child", "kid": "child", "people": "person",
    "men": "man", "women": "woman", "feet": "foot", "teeth": "tooth", "mice": "mouse",
    "better": "good", "best": "good", "worse": "bad", "worst": "bad",
}
# Synonyms and phrasings that cannot change the answer, mapped to one canonical token.
_SYNONYMS = {
    "delete": "remove", "erase": "remove", "purchase": "buy", "modify": "change", "edit": "change",
    "update": "change", "alter": "change", "amend": "change", "switch": "change",
    "picture": "photo", "image": "photo", "pic": "photo", "parcel": "package", "delivery": "ship",
    "shipping": "ship", "deliver": "ship", "info": "information", "detail": "information",
    "secure": "safe", "speak": "talk", "chat": "talk", "person": "human", "agent": "human",
    "representative": "human", "reach": "contact", "locate": "find", "display": "see",
    "view": "see", "show": "see", "look": "see", "big": "large", "huge": "large", "tall": "high",
    "tallest": "highest", "biggest": "largest", "quick": "fast", "rapid": "fast", "begin": "start",
    "quit": "exit", "terminate": "kill", "issue": "problem", "solve": "fix", "resolve": "fix",
    "repair": "fix", "receive": "get", "obtain": "get", "several": "multiple", "iterate": "loop",
    "distinct": "unique", "define": "declare", "timezone": "timezone", "tyre": "tire",
    "holiday": "vacation", "colour": "color", "favourite": "favorite", "centre": "center",
    "licence": "license", "organise": "organize", "element": "item", "dictionary": "dict",
    "repo": "repository", "integer": "int", "js": "javascript", "ts": "typescript", "py": "python",
    "golang": "go", "postgres": "postgresql", "psql": "postgresql", "k8s": "kubernetes",
    "mac": "macos", "osx": "macos", "nodejs": "node", "node.js": "node", "directory": "folder",
    "dir": "folder", "func": "function", "db": "database", "author": "write", "writer": "write",
    "painter": "paint", "inventor": "invent", "discoverer": "discover", "founder": "found",
    "creator": "create", "recipe": "make", "sign": "symptom", "photograph": "photo",
    "cellphone": "phone", "smartphone": "phone", "mobile": "phone", "email": "email",
    "e-mail": "email", "mail": "email", "usa": "usa", "america": "usa", "britain": "uk",
    "oz": "ounce", "lb": "pound", "lbs": "pound", "km": "kilometer", "kms": "kilometer",
    "kilometre": "kilometer", "metre": "meter", "kg": "kilogram", "ml": "milliliter",
    "millilitre": "milliliter", "litre": "liter", "l": "liter", "tsp": "teaspoon",
    "tbsp": "tablespoon", "hr": "hour", "hrs": "hour", "min": "minimum", "mins": "minute",
    "sec": "second", "secs": "second", "ms": "millisecond", "yr": "year", "yrs": "year",
    "mi": "mile", "ft": "foot", "g": "gram", "gigabyte": "gb", "megabyte": "mb", "kilobyte": "kb",
    "terabyte": "tb", "maximum": "max", "minimum": "min", "dollar": "usd", "buck": "usd",
    "euro": "eur", "yen": "jpy", "sqrt": "sqrt", "abbreviation": "acronym", "cwd": "cwd",
    "virtualenv": "venv", "tutorial": "guide", "%": "percent", "$": "usd", "€": "eur", "£": "gbp",
}
# Multi-word phrases, matched longest first on the token stream (before stemming).
_PHRASES = {
    "turn on": "enable", "switch on": "enable", "activate": "enable", "turn off": "disable",
    "switch off": "disable", "deactivate": "disable", "log in": "login", "sign in": "login",
    "signin": "login", "log into": "login", "sign into": "login", "log on": "login",
    "log out": "logout", "sign out": "logout", "signout": "logout", "log off": "logout",
    "sign up": "signup", "register": "signup", "set up": "configure", "setup": "configure",
    "get rid of": "remove", "get in touch with": "contact", "get in touch": "contact",
    "money back": "refund", "customer support": "support", "customer service": "support",
    "support team": "support", "help desk": "support", "user name": "username",
    "email address": "email", "e mail": "email", "two factor authentication": "2fa",
    "two factor auth": "2fa", "two factor": "2fa", "two step verification": "2fa", "mfa": "2fa",
    "multi factor authentication": "2fa", "virtual environment": "venv",
    "environment variable": "envvar", "environment variables": "envvar", "env variable": "envvar",
    "env var": "envvar", "env vars": "envvar", "env variables": "envvar",
    "current working directory": "cwd", "working directory": "cwd", "square root": "sqrt",
    "time zone": "timezone", "stand for": "acronym", "stands for": "acronym",
    "short for": "acronym", "dark theme": "dark_mode", "night mode": "dark_mode",
    "loop through": "loop", "loop over": "loop", "iterate over": "loop", "iterate through": "loop",
    "all the time": "always", "on hold": "pause", "united states": "usa", "united kingdom": "uk",
    "new york": "new_york", "new zealand": "new_zealand", "new jersey": "new_jersey",
    "new mexico": "new_mexico", "los angeles": "los_angeles", "san francisco": "san_francisco",
    "hong kong": "hong_kong", "south africa": "south_africa", "south korea": "south_korea",
    "north korea": "north_korea", "saudi arabia": "saudi_arabia", "costa rica": "costa_rica",
    "world war ii": "ww2", "world war 2": "ww2", "world war two": "ww2", "wwii": "ww2",
    "second world war": "ww2", "world war i": "ww1", "world war 1": "ww1", "world war one": "ww1",
    "wwi": "ww1", "first world war": "ww1", "how many": "<qty>", "how much": "<qty>",
    "number of": "<qty>", "amount of": "<qty>", "how long": "<dur>", "how far": "distance",
    "how often": "<freq>", "how old": "<age>", "what year": "<when>", "which year": "<when>",
    "what time": "<when>", "what date": "<when>", "what day": "<when>",
    "what time zone": "what timezone", "what timezone": "what timezone", "best way": "way",
    "in advance": "", "check out": "checkout", "check in": "checkin", "thanks a lot": "",
    "thank you so much": "", "thanks so much": "", "show me how to": "how to", "show me how": "how",
    "if you do not mind": "", "no worries": "", "no problem": "", "quick question": "",
    "hope you are doing well": "", "hope you doing well": "", "hope you are well": "",
    "hope all is well": "", "more than one": "multiple", "a lot of": "multiple",
    "lots of": "multiple", "for example": "", "versus": "vs", "vs.": "vs", "as well as": "and",
    "rather than": "instead", "instead of": "instead", "compared to": "vs", "compared with": "vs",
    "credited with": "", "have to": "<must>", "has to": "<must>",
    "had to": "<must>", "ought to": "<should>", "as soon as possible": "", "asap": "", "zoom in": "zoom_in",
    "zoom out": "zoom_out", "dark mode": "dark_mode",
}
# Words that never change the answer: function words, pronouns, modals, politeness, framing.
_LIGHT = frozenset(
    _words("""
    a an the i me my mine myself you your yours yourself we us our ours they them their theirs
    it its itself this that these those there here what which how whose
    is am are was were be been being do does did done doing have has had having get can could will
    would shall should may might must of for to in into on at by from about with as via using use
    per and or but if so then also just really actually even ever still yet already again usually
    normally typically generally basically simply currently exactly very quite pretty too
    please kindly thanks thank hi hello hey sorry bother wondering question dumb stupid silly
    appreciate love know tell want need like wish try trying going able allowed possible way ways
    process procedure step steps tip tips guide explain explanation example examples syntax help
    mean meaning means definition describe anyone someone something thing things stuff kind sort
    all every each any entire whole new another other different offer provide available some
    real exist exists case situation let lets usually e.g etc find finding locate
    tips steps ways examples needs wants helps offers provides tells knows trying wondering
    vs difference compare comparison between
    """)
)
_SYMMETRIC = frozenset(_words("vs and or between difference compare comparison"))
# Light words that still carry polarity: opposite ones on the two sides reject.
_WEAK_ANTONYMS = (
    ("on", "off"), ("in", "out"), ("up", "down"), ("before", "after"), ("above", "below"),
    ("over", "under"), ("more", "less"), ("most", "least"), ("much", "little"), ("many", "few"),
    ("with", "without"), ("same", "different"), ("all", "none"), ("inside", "outside"),
    ("always", "never"), ("to", "from"), ("into", "from"),
)
_ANTONYMS = (
    ("enable", "disable"), ("upgrade", "downgrade"), ("increase", "decrease"), ("add", "remove"),
    ("open", "close"), ("start", "stop"), ("start", "end"), ("buy", "sell"), ("import", "export"),
    ("encrypt", "decrypt"), ("min", "max"), ("minimum", "maximum"), ("ascending", "descending"),
    ("push", "pull"), ("show", "hide"), ("see", "hide"), ("login", "logout"), ("pause", "resume"),
    ("gain", "lose"), ("win", "lose"), ("advantage", "disadvantage"), ("pro", "con"),
    ("raise", "lower"), ("high", "low"), ("higher", "lower"), ("highest", "lowest"),
    ("hot", "cold"), ("hottest", "coldest"), ("large", "small"), ("largest", "smallest"),
    ("long", "short"), ("longer", "shorter"), ("longest", "shortest"), ("fast", "slow"),
    ("faster", "slower"), ("good", "bad"), ("cheap", "expensive"), ("cheapest", "expensive"),
    ("first", "last"), ("beginning", "end"), ("north", "south"), ("east", "west"),
    ("left", "right"), ("upper", "lower"), ("uppercase", "lowercase"), ("read", "write"),
    ("input", "output"), ("send", "receive"), ("upload", "download"), ("accept", "reject"),
    ("allow", "deny"), ("allow", "block"), ("include", "exclude"), ("connect", "disconnect"),
    ("compress", "decompress"), ("compress", "extract"), ("zip", "unzip"), ("mount", "unmount"),
    ("install", "uninstall"), ("subscribe", "unsubscribe"), ("follow", "unfollow"),
    ("lock", "unlock"), ("block", "unblock"), ("archive", "unarchive"), ("mute", "unmute"),
    ("pin", "unpin"), ("hide", "unhide"), ("indent", "unindent"), ("do", "undo"),
    ("serialize", "deserialize"), ("encode", "decode"), ("attach", "detach"), ("save", "discard"),
    ("merge", "split"), ("join", "split"), ("safe", "unsafe"), ("safe", "dangerous"),
    ("healthy", "unhealthy"), ("legal", "illegal"), ("valid", "invalid"), ("public", "private"),
    ("online", "offline"), ("internal", "external"), ("local", "remote"), ("local", "global"),
    ("inner", "outer"), ("before", "after"), ("early", "late"), ("earlier", "later"),
    ("past", "future"), ("yesterday", "tomorrow"), ("today", "tomorrow"), ("today", "yesterday"),
    ("day", "night"), ("summer", "winter"), ("spring", "autumn"), ("male", "female"),
    ("men", "women"), ("boy", "girl"), ("positive", "negative"), ("true", "false"),
    ("success", "failure"), ("pass", "fail"), ("profit", "loss"), ("credit", "debit"),
    ("deposit", "withdraw"), ("borrow", "lend"), ("import", "export"), ("arrive", "depart"),
    ("arrival", "departure"), ("inbound", "outbound"), ("incoming", "outgoing"), ("light", "dark"),
    ("wet", "dry"), ("full", "empty"), ("thick", "thin"), ("heavy", "light"), ("old", "young"),
    ("cause", "effect"), ("strengthen", "weaken"), ("tighten", "loosen"), ("expand", "collapse"),
    ("maximize", "minimize"), ("zoom_in", "zoom_out"), ("horizontal", "vertical"),
    ("horizontally", "vertically"), ("sync", "async"), ("synchronous", "asynchronous"),
    ("mutable", "immutable"), ("static", "dynamic"), ("client", "server"), ("frontend", "backend"),
    ("parent", "child"), ("prefix", "suffix"), ("leading", "trailing"), ("head", "tail"),
    ("top", "bottom"), ("front", "back"), ("inside", "outside"), ("more", "less"),
)
_NEGATING_PREFIXES = ("un", "dis", "de", "non", "in", "im", "il", "ir", "anti")
_UNITS = frozenset(
    _words("""
    kilometer meter centimeter millimeter mile yard foot inch kilogram gram milligram pound ounce
    stone ton liter milliliter gallon quart pint cup teaspoon tablespoon celsius fahrenheit kelvin
    degree second millisecond microsecond nanosecond minute hour day week month year decade century
    byte bit kb mb gb tb pb kib mib gib px em rem pt percent calorie kcal joule watt kwh volt amp
    mph kmh knot acre hectare
    """)
)
_CURRENCIES = frozenset(
    _words(
        "usd eur gbp jpy cny rmb inr cad aud chf sek nok dkk pln brl mxn krw rub try zar nzd sgd hkd "
        "btc eth bitcoin ethereum rupee peso franc krona won real rand ruble yuan"
    )
)
_HUMAN_LANGUAGES = frozenset(
    _words("""
    english spanish french german italian portuguese chinese mandarin cantonese japanese korean
    russian arabic hindi bengali urdu dutch swedish norwegian danish finnish polish czech greek
    turkish hebrew thai vietnamese indonesian malay tagalog swahili ukrainian romanian hungarian
    persian farsi latin irish welsh catalan
    """)
)
_FORMATS = frozenset(
    _words("""
    json yaml yml toml xml csv tsv pdf png jpg jpeg gif svg webp bmp tiff heic mp3 mp4 wav flac ogg
    avi mov mkv webm zip tar gz rar 7z docx doc xlsx xls pptx txt md markdown html rtf epub parquet
    avro ini env sqlite bytes string int float str list tuple set dict array
    """)
)
_TECH = frozenset(
    _words("""
    python javascript typescript java rust go ruby php perl c c++ c# f# kotlin swift scala haskell
    elixir erlang clojure lua dart julia matlab bash zsh powershell sql html css sass scss react vue
    angular svelte django flask fastapi express spring rails laravel next.js nuxt node deno bun npm
    yarn pnpm pip conda poetry uv docker kubernetes helm git github gitlab bitbucket nginx apache
    redis memcached postgresql mysql mariadb sqlite mongodb elasticsearch kafka rabbitmq aws azure
    gcp vercel netlify heroku terraform ansible jenkins vim neovim emacs vscode pycharm intellij
    pandas numpy scipy matplotlib pytorch tensorflow keras jupyter pytest unittest jest mocha
    eslint prettier webpack vite babel requests httpx aiohttp curl wget openssl ssh linux ubuntu
    debian fedora centos arch alpine windows macos ios android chrome firefox safari chromium
    excel word powerpoint sheets docs notion jira confluence slack teams zoom discord telegram
    whatsapp signal gmail outlook icloud dropbox paypal stripe visa mastercard amex venmo zelle
    google apple microsoft amazon meta facebook instagram twitter tiktok youtube netflix spotify
    tesla samsung xiaomi huawei sony nintendo xbox playstation iphone ipad pixel galaxy kindle
    openai anthropic chatgpt claude gemini llama cors oauth jwt graphql grpc rest http https tcp
    udp dns ssl tls ipv4 ipv6 wifi bluetooth usb hdmi cpu gpu ram ssd api sdk cli gui
    """)
)
_PLACES = frozenset(
    _words("""
    usa uk canada mexico brazil argentina chile peru colombia france germany italy spain portugal
    netherlands belgium switzerland austria sweden norway denmark finland iceland ireland scotland
    wales england poland czechia greece turkey russia ukraine egypt morocco nigeria kenya
    south_africa india china japan korea south_korea north_korea vietnam thailand indonesia
    philippines malaysia singapore australia new_zealand israel iran iraq saudi_arabia dubai
    london paris berlin madrid rome tokyo sydney melbourne toronto vancouver montreal chicago
    boston seattle portland austin dallas houston miami denver atlanta new_york los_angeles
    san_francisco texas california florida washington oregon hong_kong beijing shanghai seoul
    mumbai delhi bangkok amsterdam vienna prague dublin lisbon europe asia africa
    """)
)
_CALENDAR = frozenset(
    _words("""
    january february march april may_month june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday weekend weekday
    """)
)
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "dozen": 12, "twice": 2, "thrice": 3, "half": 0.5, "couple": 2,
}
_MULTIPLIERS = {
    "hundred": 100, "thousand": 1000, "k": 1000, "million": 10**6, "billion": 10**9, "dozen": 12,
}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "hundredth": 100,
}
# "one" is a pronoun after these ("a new one", "which one"), a number otherwise.
_ONE_PRONOUN_AFTER = frozenset(
    _words(
        "a the this that which another new old each every any no some right wrong same other last next "
        "good better best only"
    )
)
_ROMAN = {"II": "2", "III": "3", "IV": "4", "VI": "6", "VII": "7", "VIII": "8", "IX": "9", "XI": "11"}

# --------------------------------------------------------------------------------------------
# Regexes (compiled once)
# --------------------------------------------------------------------------------------------

_QUOTED_RE = re.compile(
    r"`([^`]+)`|\"([^\"]+)\"|\u201c([^\u201d]+)\u201d|\u2018([^\u2019]+)\u2019|(?<![\w'])'([^']+)'(?![\w])"
)
_CASE_RE = re.compile(r"(?<=\w[ ,])(US|U\.S\.A?\.?|Go|May|IT)\b|\b(II|III|IV|VI|VII|VIII|IX|XI)\b")
_GREETING_RE = re.compile(
    r"^\s*(?:(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))(?: there| team| all)?[\s,!.:;-]+)+"
)
_TOKEN_RE = re.compile(
    r"https?://[^\s]+|www\.[^\s]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|c\+\+|\b[cf]#|(?<![\w.])\.[a-z][a-z0-9]*"
    r"|\d[\d,]*(?:\.\d+)*[a-z%°]*"
    r"|[a-z_][a-z0-9_]*(?:['\u2019][a-z]{1,2}\b|(?:\.[a-z0-9_]+)+)?(?:\(\))?"
    r"|===?|!==?|<=|>=|->|=>|&&|\|\||::|\+\+|[+*%<>=^&|~$€£#]|[,:;?!.]"
)
_NUM_UNIT_RE = re.compile(r"^(\d[\d,]*(?:\.\d+)*)([a-z%°]*)$")
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
_UNIT_SUFFIXES = frozenset(
    _words(
        "k m b km kg g mg ml l lb lbs oz gb mb kb tb pb px em rem s ms h hr hrs min mins d y yr yrs "
        "mph kmh kwh w v % ° °c °f c f x am pm"
    )
)
_SUFFIX_UNIT = {"c": "celsius", "°c": "celsius", "f": "fahrenheit", "°f": "fahrenheit", "°": "degree",
                "x": "times", "s": "second", "h": "hour", "d": "day",
                "y": "year", "min": "minute", "w": "watt", "v": "volt"}
_DOUBLE_END_RE = re.compile(r"([b-df-hj-np-tv-z])\1$")
# Derivational/inflectional suffixes and the shortest word they are stripped from.
_SUFFIXES = (("ation", 9), ("ion", 7), ("ate", 7), ("ing", 6), ("ed", 5), ("ly", 6))
_DIGITS_RE = re.compile(r"^\d+(?:\.\d+)*$")
_CAPITALISED_RE = re.compile(r"(?<=[\w,;:] )[A-Z][a-z]+")
_NO_STEM = _TECH | _PLACES
_FIRST_PERSON = frozenset(_words("i me my mine myself we us our ours ourselves"))
_SECOND_PERSON = frozenset(_words("you your yours yourself yourselves"))
_MAX_TYPO_CANDIDATES = 4
_DIGIT_WORDS = frozenset(_words("one two three four five six seven eight nine"))
_GAP_VERBS = frozenset({"turn", "switch", "toggle", "flip", "put", "log", "sign"})
_BOUNDARY = "|"
# fmt: on
_SYM_MARK = "\x00sym"
# Direction words and the role they give the word after them ("to savings" vs "from savings").
_ROLE_OF = {
    "to": "to",
    "into": "to",
    "onto": "to",
    "toward": "to",
    "towards": "to",
    "from": "from",
    "than": "than",
    "instead": "instead",
    "rather": "instead",
    "but": "but",
    "except": "but",
    "then": "then",
}
# After these verbs "with"/"for"/"by" also mark direction: "replace tabs with spaces".
_SWAP_VERBS = frozenset(_words("replace swap substitute exchange trade"))
_SWAP_ROLES = {"with": "with", "for": "with", "by": "with"}
_TYPED_WORDS = {
    "who": "<who>",
    "whom": "<who>",
    "why": "<why>",
    "where": "<where>",
    "should": "<should>",
    "ought": "<should>",
    "must": "<must>",
}
_HOW_VERBS = frozenset(_words("do does did can could should would to i we you"))
_BE_VERBS = frozenset(_words("is are was were"))
_FRAMING = frozenset(_words("way ways process procedure step steps method best"))
_IS_CONTRACTED = frozenset(_words("what where who how when why that it there here"))
_DEF, _HOW = "<def>", "<how>"
_QTY = "<qty>"


# --------------------------------------------------------------------------------------------
# Normalisation: text -> surface words -> canonical features
# --------------------------------------------------------------------------------------------


def _stem(word: str) -> str:
    word = _IRREGULAR.get(word, word)
    if len(word) <= 3 or not word.isalpha() or word in _NO_STEM:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "i"
    elif word.endswith(("sses", "xes", "ches", "shes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix, min_length in _SUFFIXES:
        if word.endswith(suffix) and len(word) >= min_length:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    if word.endswith("y") and len(word) > 3:
        word = word[:-1] + "i"
    return _DOUBLE_END_RE.sub(r"\1", word) if len(word) > 4 else word


def _canon(word: str) -> str:
    """Canonical token of a surface word: synonym map, then stemmer, then synonyms of the stem."""
    word = _SYNONYMS.get(word, word)
    stem = _stem(word)
    return _STEM_SYNONYMS.get(stem, stem)


_STEM_SYNONYMS = {_stem(k): _stem(v) for k, v in _SYNONYMS.items() if _stem(k) != _stem(v)}
# Inflected forms of light verbs ("explained", "receiving" -> get) are light too.
_LIGHT_CANON = frozenset(
    _canon(w)
    for w in _words(
        "get use way need want help offer provide exist try know tell mean explain step tip example "
        "describe thing like wish love appreciate wonder"
    )
)
_WEAK_CANON = tuple((_canon(a), _canon(b)) for a, b in _WEAK_ANTONYMS)
_ANTONYM_OF: dict[str, frozenset[str]] = {}
for _a, _b in _ANTONYMS:
    _ANTONYM_OF[_canon(_a)] = _ANTONYM_OF.get(_canon(_a), frozenset()) | {_canon(_b)}
    _ANTONYM_OF[_canon(_b)] = _ANTONYM_OF.get(_canon(_b), frozenset()) | {_canon(_a)}
_ORDERED = frozenset(_canon(w) for w in _UNITS | _CURRENCIES | _HUMAN_LANGUAGES | _FORMATS)
_ENTITIES = frozenset(_canon(w) for w in _TECH | _PLACES | _CALENDAR | _HUMAN_LANGUAGES | _CURRENCIES | _FORMATS)
_UNIT_CANON = frozenset(_canon(w) for w in _UNITS)
_PHRASE_INDEX: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
for _phrase, _repl in sorted(_PHRASES.items(), key=lambda kv: -len(kv[0].split())):
    _PHRASE_INDEX.setdefault(_phrase.split()[0], []).append((tuple(_phrase.split()), tuple(_repl.split())))
# Real words one edit apart from another real word: never treated as typos of each other.
_CONFUSABLE = frozenset(
    _words("""
    desert dessert casual causal marital martial angel angle trial trail united untied quiet quite
    later latter costume custom advice advise device devise prostate prostrate council counsel
    personal personnel moral morale dual duel diary dairy sight site cite brake break plain plane
    steal steel sweet suite suit lose loose breath breathe clothes cloths statue statute affect
    effect accept except access excess lightening lightning envelop envelope loan lone
    """)
)
# Real, distinct words: a typo is never "corrected" into or out of one of these.
_KNOWN = (
    _LIGHT
    | _NEGATIONS
    | frozenset(_NUMBER_WORDS)
    | frozenset(_ORDINALS)
    | frozenset(_MULTIPLIERS)
    | frozenset(w for pair in _ANTONYMS + _WEAK_ANTONYMS for w in pair)
    | frozenset(_SYNONYMS)
    | frozenset(_SYNONYMS.values())
    | _TECH
    | _PLACES
    | _CALENDAR
    | _HUMAN_LANGUAGES
    | _CURRENCIES
    | _UNITS
    | _FORMATS
    | frozenset(_IRREGULAR)
    | frozenset(_NT_WORDS)
    | frozenset(_SLANG)
    | frozenset(_TYPED_WORDS)
    | frozenset({"when"})
    | _CONFUSABLE
)


def _protect_case(text: str) -> str:
    """Keep the few distinctions only casing carries (US vs us, Go vs go, May vs may, WW II)."""

    def repl(m: re.Match[str]) -> str:
        if m.group(2):
            return _ROMAN[m.group(2)]
        return {"Go": "golang", "May": "may_month", "IT": "it_department"}.get(m.group(1), "usa")

    if text.isupper():  # shouted text carries no casing information
        return text
    return _CASE_RE.sub(repl, text)


@lru_cache(maxsize=4096)
def _proper_nouns(text: str) -> frozenset[str]:
    """Capitalised words inside a sentence: names, which typo alignment must leave alone."""
    return frozenset(w.lower() for w in _CAPITALISED_RE.findall(text))


def _split_token(tok: str) -> list[str]:
    """Expand contractions, slang, punctuation and number+unit tokens into plain words."""
    tok = tok.replace("\u2019", "'")
    if tok in ",:;?!.":
        return [_BOUNDARY]
    if tok.endswith("n't"):
        base = tok[:-3]
        return [{"ca": "can", "wo": "will", "sha": "shall", "ai": "is"}.get(base, base), "not"]
    if "'" in tok:
        base, suffix = tok.split("'", 1)
        return [base, "is"] if suffix == "s" and base in _IS_CONTRACTED else [base]
    if tok in _NT_WORDS:
        return [_NT_WORDS[tok], "not"]
    if tok in _SLANG:
        return [_SLANG[tok]]
    if tok == "#":
        return []
    if tok.endswith("()"):
        return [tok[:-2]]
    if tok[0] == "." and tok[1:] in _FORMATS:  # ".yaml file" is a "yaml file"
        return [tok[1:]]
    return _split_number(tok)


def _split_number(tok: str) -> list[str]:
    m = _NUM_UNIT_RE.match(tok)
    if not m:
        return [tok]
    num, suffix = m.group(1).replace(",", ""), m.group(2)
    if not suffix:
        return [num]
    if suffix in _ORDINAL_SUFFIXES:
        return [f"ord{num}"]
    if suffix in _UNIT_SUFFIXES:
        return [num, _SUFFIX_UNIT.get(suffix, suffix)]
    return [tok]


@lru_cache(maxsize=8192)
def _surface(text: str) -> tuple[str, ...]:
    """Lower-cased surface words of a text (contractions expanded, punctuation as boundaries)."""
    text = _GREETING_RE.sub("", _protect_case(text).lower())
    words: list[str] = []
    for tok in _TOKEN_RE.findall(text):
        words.extend(_split_token(tok))
    return tuple(words)


def _merge_gaps(words: list[str]) -> None:
    """'turn dark mode on' -> enable, 'log me out' -> logout: a verb whose particle comes later."""
    for i, verb in enumerate(words):
        if verb not in _GAP_VERBS:
            continue
        for j in range(i + 2, min(i + 5, len(words))):
            particle = words[j]
            if particle == _BOUNDARY:
                break
            if verb == "put" and particle == "on" and words[j + 1 : j + 2] == ["hold"]:
                words[i] = ""
                break
            if verb in ("log", "sign") and particle in ("in", "out"):
                words[i], words[j] = ("login" if particle == "in" else "logout"), ""
                break
            if verb not in ("put", "log", "sign") and particle in ("on", "off"):
                words[i], words[j] = ("enable" if particle == "on" else "disable"), ""
                break


def _merge_phrases(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        for phrase, repl in _PHRASE_INDEX.get(words[i], ()):
            if tuple(words[i : i + len(phrase)]) == phrase:
                out.extend(repl)
                i += len(phrase)
                break
        else:
            out.append(words[i])
            i += 1
    return [w for w in out if w]


def _number_start(words: list[str], i: int) -> int | float | str | None:
    word = words[i]
    if _DIGITS_RE.match(word):
        # Dotted numbers stay strings: Python 3.10 is not Python 3.1.
        return int(word) if "." not in word else word
    if word == "one" and i > 0 and words[i - 1] in _ONE_PRONOUN_AFTER:
        return None
    return _NUMBER_WORDS.get(word)


def _number_value(words: list[str], i: int) -> tuple[str, int] | None:
    """The number starting at words[i] (digits or words, composed) and how many words it spans."""
    word = words[i]
    if word in _ORDINALS and not (word == "second" and i > 0 and _DIGITS_RE.match(words[i - 1])):
        return f"ord{_ORDINALS[word]}", 1
    value = _number_start(words, i)
    if value is None:
        return None
    span = 1
    while i + span < len(words):
        nxt = words[i + span]
        if nxt in _MULTIPLIERS and not isinstance(value, str):
            value *= _MULTIPLIERS[nxt]
        elif isinstance(value, str) and nxt in _MULTIPLIERS and value.count(".") == 1:
            value = float(value) * _MULTIPLIERS[nxt]
        elif isinstance(value, int) and 20 <= value < 100 and value % 10 == 0 and nxt in _DIGIT_WORDS:
            value += _NUMBER_WORDS[nxt]
        elif nxt != "times":  # "two times" is "twice"
            break
        span += 1
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value), span


def _numbers_to_tokens(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        found = _number_value(words, i)
        if found is None:
            out.append(words[i])
            i += 1
            continue
        value, span = found
        out.append("#" + value)
        i += span
    return out


def _question_form(tokens: list[str]) -> set[str]:
    """<def> for "what is X", <how> for "how do I X": a definition is not a procedure."""
    forms = set()
    for i, tok in enumerate(tokens[:-1]):
        nxt, prev = tokens[i + 1], tokens[i - 1] if i else _BOUNDARY
        if tok == "how" and nxt in _HOW_VERBS:
            forms.add(_HOW)
        elif tok == "what" and prev == _BOUNDARY and nxt in _BE_VERBS:
            forms.add(_DEF)
    if _DEF in forms and _FRAMING.intersection(tokens):
        forms.discard(_DEF)  # "what is the best way to X" asks how
    return forms


@dataclass(frozen=True, slots=True)
class _Features:
    content: frozenset[str]
    stream: tuple[str, ...]  # content words and numbers in order, with direction/symmetry markers
    numbers: tuple[str, ...]
    negations: int
    directed: frozenset[str]  # to/from/into used as direction markers
    questions: frozenset[str]
    ordered: tuple[str, ...]  # units, currencies, languages, formats in order of appearance
    symmetric: bool
    persons: frozenset[str]  # "1" and/or "2": whose thing is asked about (my order / your policy)
    text: str


@lru_cache(maxsize=8192)
def _features(words: tuple[str, ...]) -> _Features:
    work = list(words)
    _merge_gaps(work)
    tokens = _numbers_to_tokens(_merge_phrases([w for w in work if w]))
    acc = _Accumulator(swapping=not _SWAP_VERBS.isdisjoint(tokens))
    for i, tok in enumerate(tokens):
        acc.add(tok, tokens[i - 1] if i else _BOUNDARY)
    acc.questions |= _question_form(tokens)
    return acc.freeze(" ".join(w for w in words if w != _BOUNDARY))


class _Accumulator:
    """Sorts canonical tokens into the feature buckets the rules compare."""

    def __init__(self, swapping: bool) -> None:
        self.roles = {**_ROLE_OF, **_SWAP_ROLES} if swapping else _ROLE_OF
        self.content: set[str] = set()
        self.stream: list[str] = []
        self.numbers: list[str] = []
        self.negations = 0
        self.directed: set[str] = set()
        self.questions: set[str] = set()
        self.ordered: list[str] = []
        self.symmetric = False
        self.persons: set[str] = set()
        self.prev_content = False

    def add(self, tok: str, prev: str) -> None:
        was_content, self.prev_content = self.prev_content, False
        if tok == _BOUNDARY:
            return
        if tok.startswith("#"):
            self.numbers.append(tok[1:])
            self._content_token(tok)
        elif tok.startswith("<"):
            self.questions.add(tok)
        elif tok in _TYPED_WORDS:
            self.questions.add(_TYPED_WORDS[tok])
        elif tok == "when" and prev == _BOUNDARY:
            self.questions.add("<when>")
        elif tok in _NEGATIONS:
            self.negations += 1
        elif tok in _FIRST_PERSON or tok in _SECOND_PERSON:
            self.persons.add("1" if tok in _FIRST_PERSON else "2")
        elif tok in _SYMMETRIC:
            self.symmetric = True
            self.stream.append(_SYM_MARK)
        elif tok in self.roles and was_content:
            self.directed.add(tok)
            self.stream.append("\x00" + self.roles[tok])
        elif tok not in _LIGHT:
            canon = _canon(tok)
            if canon not in _LIGHT_CANON:
                self._content_token(canon)

    def _content_token(self, tok: str) -> None:
        self.content.add(tok)
        self.stream.append(tok)
        if tok in _ORDERED:
            self.ordered.append(tok)
        self.prev_content = True

    def freeze(self, text: str) -> _Features:
        return _Features(
            content=frozenset(self.content),
            stream=tuple(self.stream),
            numbers=tuple(sorted(self.numbers)),
            negations=self.negations,
            directed=frozenset(self.directed),
            questions=frozenset(self.questions),
            ordered=tuple(self.ordered),
            symmetric=self.symmetric,
            persons=frozenset(self.persons),
            text=text,
        )


# --------------------------------------------------------------------------------------------
# Typo alignment
# --------------------------------------------------------------------------------------------


def _one_edit(a: str, b: str) -> bool:
    """True if b is one insertion, deletion, substitution or adjacent swap away from a."""
    la, lb = len(a), len(b)
    if abs(la - lb) > 1 or a == b:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i + 1 :] == b[i:] if la > lb else a[i:] == b[i + 1 :]


def _typo_target(word: str, others: frozenset[str], protected: frozenset[str]) -> str:
    """The word of the other text that `word` is a typo of, or `word` itself."""
    if word in _KNOWN or word in protected or len(word) < 4 or not word.isalpha():
        return word
    for other in others:
        # Typos keep the first letter; requiring it keeps methanol/ethanol apart.
        if other[:1] != word[:1] or other in protected or not other.isalpha() or not _one_edit(word, other):
            continue
        if other in _KNOWN or min(len(word), len(other)) >= 6:
            return other
    return word


def _align_typos(
    query: tuple[str, ...], candidate: tuple[str, ...], protected: frozenset[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    q_set, c_set = frozenset(query), frozenset(candidate)
    only_q, only_c = q_set - c_set, c_set - q_set
    if not only_q or not only_c or len(only_q) > _MAX_TYPO_CANDIDATES or len(only_c) > _MAX_TYPO_CANDIDATES:
        return query, candidate  # nothing to align, or too different for typos to be the reason
    fixes = {w: _typo_target(w, only_c, protected) for w in only_q}
    fixed_query = tuple(fixes.get(w, w) for w in query)
    remaining = frozenset(fixed_query) - c_set
    fixes = {w: _typo_target(w, remaining, protected) for w in only_c - frozenset(fixed_query)}
    return fixed_query, tuple(fixes.get(w, w) for w in candidate)


# --------------------------------------------------------------------------------------------
# Rules: each returns a rejection reason or None
# --------------------------------------------------------------------------------------------


def _negation(q: _Features, c: _Features) -> str | None:
    if q.negations != c.negations:
        return f"negation: {q.negations} negation(s) vs {c.negations}"
    return None


def _weak_antonyms(q: _Features, c: _Features) -> str | None:
    q_words, c_words = q.directed | q.content, c.directed | c.content
    for a, b in _WEAK_CANON:
        if (a in q_words and b in c_words and b not in q_words and a not in c_words) or (
            b in q_words and a in c_words and a not in q_words and b not in c_words
        ):
            return f"antonym: {a}/{b}"
    return None


def _numbers(q: _Features, c: _Features) -> str | None:
    if q.numbers != c.numbers:
        return f"number: {list(q.numbers)} vs {list(c.numbers)}"
    return None


def _quoted_segments(text: str) -> list[str]:
    segments = []
    for groups in _QUOTED_RE.findall(text):
        inner = next(g for g in groups if g)
        segments.append(" ".join(w for w in _surface(inner) if w != _BOUNDARY))
    return [s for s in segments if s]


def _quoted(query: str, candidate: str, q: _Features, c: _Features) -> str | None:
    for text, other in ((query, c.text), (candidate, q.text)):
        for segment in _quoted_segments(text):
            if f" {segment} " not in f" {other} ":
                return f"quoted: {segment!r} missing on the other side"
    return None


def _questions(q: _Features, c: _Features) -> str | None:
    # "How much does shipping cost" / "shipping costs": a one-sided how-many/much asks the same.
    q_types, c_types = q.questions, c.questions
    if _DEF in q_types ^ c_types and _HOW in q_types ^ c_types:
        return "question type: definition vs procedure"
    q_types, c_types = q_types - {_DEF, _HOW}, c_types - {_DEF, _HOW}
    if (_QTY in q_types) != (_QTY in c_types):
        q_types, c_types = q_types - {_QTY}, c_types - {_QTY}
    if q_types != c_types:
        return f"question type: {sorted(q.questions)} vs {sorted(c.questions)}"
    return None


def _is_antonym_of_prefix(a: str, b: str) -> bool:
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return len(shorter) >= 3 and any(longer == p + shorter for p in _NEGATING_PREFIXES)


def _classify(only_q: set[str], only_c: set[str]) -> str:
    for a in only_q:
        for b in only_c:
            if b in _ANTONYM_OF.get(a, ()) or _is_antonym_of_prefix(a, b):
                return f"antonym: {a}/{b}"
    diff = sorted(only_q | only_c)
    if any(any(ch.isdigit() for ch in w) for w in diff):
        kind = "number"
    elif any(w in _ENTITIES for w in diff):
        kind = "entity"
    elif any(w in _UNIT_CANON for w in diff):
        kind = "unit"
    elif any(not w.isalpha() for w in diff):
        kind = "code"
    else:
        kind = "content"
    return f"{kind}: {sorted(only_q)} vs {sorted(only_c)}"


def _content(q: _Features, c: _Features) -> str | None:
    if q.content == c.content:
        return None
    return _classify(set(q.content - c.content), set(c.content - q.content))


def _order(q: _Features, c: _Features) -> str | None:
    if q.symmetric or c.symmetric:
        return None
    if q.ordered != c.ordered and sorted(q.ordered) == sorted(c.ordered):
        return f"order: {list(q.ordered)} vs {list(c.ordered)}"
    q_args, c_args = _direction_arguments(q.stream), _direction_arguments(c.stream)
    q_roles = {after: role for _, role, after in q_args}
    for _, role, after in c_args:
        if q_roles.get(after, role) != role:
            return f"order: {after!r} is '{q_roles[after]}' vs '{role}'"
    for first_args, second in (q_args, c), (c_args, q):
        positions = _unique_positions(second.stream)
        for x, _, y in first_args:
            if x and x in positions and y in positions and positions[y] < positions[x]:
                return f"order: {x!r} -> {y!r} reversed"
    return None


def _is_marker(tok: str) -> bool:
    return tok.startswith("\x00")


def _unique_positions(stream: tuple[str, ...]) -> dict[str, int]:
    counts = Counter(stream)
    return {tok: i for i, tok in enumerate(stream) if counts[tok] == 1 and not _is_marker(tok)}


def _direction_arguments(stream: tuple[str, ...]) -> list[tuple[str | None, str, str]]:
    """(X, role, Y) around each direction word: "from the annual plan to the monthly plan" ->
    (None, from, annual), (annual, to, monthly). X and Y are the nearest words on each side that
    occur once, without crossing another marker."""
    unique = _unique_positions(stream)
    args = []
    for i, tok in enumerate(stream):
        if not _is_marker(tok) or tok == _SYM_MARK:
            continue
        after = _nearest_unique(stream, unique, range(i + 1, len(stream)))
        if after:
            args.append((_nearest_unique(stream, unique, range(i - 1, -1, -1)), tok[1:], after))
    return args


def _nearest_unique(stream: tuple[str, ...], unique: dict[str, int], indexes: range) -> str | None:
    for j in indexes:
        if _is_marker(stream[j]):
            return None
        if stream[j] in unique:
            return stream[j]
    return None


def _person(q: _Features, c: _Features) -> str | None:
    # "what's your name" / "what's my name": only a clean swap rejects, "can you ... my order" is fine.
    if len(q.persons) == 1 and len(c.persons) == 1 and q.persons != c.persons:
        return "person: first vs second person"
    return None


def _empty(q: _Features, c: _Features) -> str | None:
    if not q.content and not c.content and q.text != c.text:
        return "no content words to compare"
    return None


_PAIR_RULES = (_empty, _negation, _weak_antonyms, _numbers, _questions, _content, _order, _person)


def verify(query: str, candidate: str, similarity: float, threshold: float = DEFAULT_THRESHOLD) -> Verdict:
    """Decide whether the cached answer to `candidate` may be served for `query`.

    `similarity` is the cosine similarity of their embeddings; `threshold` the floor below which
    nothing is considered. Deterministic and side-effect free.
    """
    if not math.isfinite(similarity) or similarity < threshold:
        return Verdict(False, f"similarity {similarity:.3f} below threshold {threshold:.3f}")
    protected = _proper_nouns(query) | _proper_nouns(candidate)
    q_words, c_words = _align_typos(_surface(query), _surface(candidate), protected)
    q, c = _features(q_words), _features(c_words)
    for rule in _PAIR_RULES:
        reason = rule(q, c)
        if reason:
            return Verdict(False, reason)
    reason = _quoted(query, candidate, q, c)
    if reason:
        return Verdict(False, reason)
    return Verdict(True, f"similarity {similarity:.3f}, no lexical difference")
