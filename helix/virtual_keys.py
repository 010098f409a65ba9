"""Virtual keys in the domain: a key's settings (`KeySpec`) and what is known of one key (`KeyRecord`).

The settings are declared once, here: the table's columns, what can be updated and how people write
each setting (the CLI's options, the admin API's fields) all follow from `KeySpec`. Storing keys is
`helix/store/keys.py`'s job; this module touches no database.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from helix.durations import MAX_SECONDS, parse_duration
from helix.periods import PERIODS

# Beyond these a limit means "none" anyway; bounded so every value fits SQLite's integers and the UI.
MAX_RATE = 10**12
# The most models (or patterns) one key's allow-list names: each request's model is matched against them all.
MAX_KEY_MODELS = 1000
MAX_MODEL_CHARS = 256
MAX_BUDGET_USD = 1e12
_NONE = ("", "none", "off", "never")


class KeyProblem(ValueError):
    """A request about keys that cannot be done; the message says why, in one line. `setting` names the
    setting at fault, as the user wrote it (`budget`, `expires`...), when one is."""

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class KeyNotFound(KeyProblem):
    pass


class KeyExists(KeyProblem):
    pass


@dataclass(frozen=True, slots=True)
class KeySpec:
    """The settings of a key; None means no limit. Field metadata: the column each one is stored in."""

    budget: float | None = field(default=None, metadata={"column": "budget_usd"})
    period: str = field(default="total", metadata={"column": "budget_period"})
    user_budget: float | None = field(default=None, metadata={"column": "user_budget_usd"})
    user_period: str | None = field(default=None, metadata={"column": "user_budget_period"})
    rpm: int | None = field(default=None, metadata={"column": "rpm"})
    tpm: int | None = field(default=None, metadata={"column": "tpm"})
    models: tuple[str, ...] | None = field(default=None, metadata={"column": "models"})
    expires_at: float | None = field(default=None, metadata={"column": "expires_at"})

    @staticmethod
    def columns() -> dict[str, str]:
        """Field name -> column of the `keys` table, in declaration order."""
        return {f.name: f.metadata["column"] for f in fields(KeySpec)}

    @classmethod
    def parse(cls, given: Mapping[str, Any], now: float | None = None) -> dict[str, Any]:
        """Field values from settings as people give them, on the command line or in the admin API:
        `budget`/`user_budget` ("$5", 5.0, "none"), `rpm`/`tpm`, `period`/`user_period`, `models`
        ("a,b", a list, "*" for any) and `expires` ("30d", "never"). Only the settings given are in the
        result; a bad one raises KeyProblem naming it."""
        now = time.time() if now is None else now
        parsed: dict[str, Any] = {}
        for setting, value in given.items():
            if setting in ("budget", "user_budget"):
                parsed[setting] = _amount(value, setting)
            elif setting in ("rpm", "tpm"):
                parsed[setting] = _count(value, setting)
            elif setting in ("period", "user_period"):
                parsed[setting] = value
            elif setting == "models":
                parsed["models"] = None if value is None else parse_models(value)
            elif setting == "expires":
                parsed["expires_at"] = _expiry(value, now)
            else:
                raise KeyProblem(f"cannot change {setting} of a key", setting)
        return parsed

    def check(self, now: float | None = None) -> KeySpec:
        if self.budget is not None and (self.budget < 0 or not math.isfinite(self.budget)):
            raise KeyProblem("the budget must be an amount of USD, 0 or more", "budget")
        if self.user_budget is not None and (self.user_budget < 0 or not math.isfinite(self.user_budget)):
            raise KeyProblem("the per-user budget must be an amount of USD, 0 or more", "user_budget")
        for setting, period in (("period", self.period), ("user_period", self.user_period)):
            if period is not None and period not in PERIODS:
                label = setting.replace("_", " ")
                raise KeyProblem(f"unknown budget {label} '{period}': use one of {', '.join(PERIODS)}", setting)
        for setting, budget in (("budget", self.budget), ("user_budget", self.user_budget)):
            if budget is not None and budget > MAX_BUDGET_USD:
                label = "budget" if setting == "budget" else "per-user budget"
                message = f"the {label} must be at most ${MAX_BUDGET_USD:,.0f} (leave it out for no limit)"
                raise KeyProblem(message, setting)
        for setting, limit in (("rpm", self.rpm), ("tpm", self.tpm)):
            if limit is not None and not 1 <= limit <= MAX_RATE:
                raise KeyProblem(f"{setting} must be from 1 to {MAX_RATE:,} (leave it out for no limit)", setting)
        if self.models is not None and not self.models:
            raise KeyProblem("the model list is empty: name models like gpt-4o-mini,anthropic/*", "models")
        if self.expires_at is not None and self.expires_at <= (now or time.time()):
            raise KeyProblem("the expiry is in the past", "expires")
        if self.expires_at is not None and self.expires_at > (now or time.time()) + MAX_SECONDS:
            raise KeyProblem(
                "the expiry is more than 100 years away: leave it out for a key that never expires", "expires"
            )
        return self


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One key as stored: who it is, its life so far, and its settings."""

    id: str
    name: str
    hash: str = field(repr=False)
    prefix: str
    created_at: float
    spec: KeySpec = KeySpec()
    revoked_at: float | None = None
    rotated_at: float | None = None
    last_used_at: float | None = None

    @property
    def display(self) -> str:
        return self.prefix + "…"

    def status(self, now: float | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        expires_at = self.spec.expires_at
        if expires_at is not None and (now or time.time()) >= expires_at:
            return "expired"
        return "active"

    def to_json(self) -> dict[str, Any]:
        """Everything but the hash, for the admin API and `--json` output."""
        spec = self.spec
        return {
            "id": self.id,
            "name": self.name,
            "key_prefix": self.display,
            "status": self.status(),
            "created_at": self.created_at,
            "expires_at": spec.expires_at,
            "revoked_at": self.revoked_at,
            "rotated_at": self.rotated_at,
            "last_used_at": self.last_used_at,
            "budget_usd": spec.budget,
            "budget_period": spec.period,
            "user_budget_usd": spec.user_budget,
            "user_budget_period": spec.user_period,
            "rpm": spec.rpm,
            "tpm": spec.tpm,
            "models": list(spec.models) if spec.models is not None else None,
        }


def plain_model_name(model: str) -> bool:
    """At most MAX_MODEL_CHARS printable ASCII characters: no provider names a model otherwise, and the name goes
    back in the x-helix-model header, which HTTP carries in latin-1 at most."""
    return len(model) <= MAX_MODEL_CHARS and model.isascii() and model.isprintable()


def parse_models(text: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """`gpt-4o-mini, anthropic/*` -> ('gpt-4o-mini', 'anthropic/*'); empty or '*' -> None (any model)."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    if len(items) > MAX_KEY_MODELS:
        raise KeyProblem(
            f"the model list names more than {MAX_KEY_MODELS:,} models: use patterns like anthropic/*", "models"
        )
    models = tuple(dict.fromkeys(item.strip() for item in items if item and item.strip()))
    if not models:
        raise KeyProblem("the model list is empty: name models like gpt-4o-mini,anthropic/*", "models")
    for model in models:
        if not plain_model_name(model):
            raise KeyProblem(
                f"a model in the list is not a model name: at most {MAX_MODEL_CHARS} printable ASCII characters",
                "models",
            )
    return None if "*" in models else models


def _amount(value: Any, setting: str) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in _NONE):
        return None
    try:
        return float(value.strip().removeprefix("$") if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise KeyProblem(f"'{value}' is not an amount in USD (or 'none' to remove it)", setting) from None


def _count(value: Any, setting: str) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in _NONE):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise KeyProblem(f"'{value}' is not a whole number (or 'none' to remove the limit)", setting) from None


def _expiry(value: str | None, now: float) -> float | None:
    if value is None or value.strip().lower() in _NONE:
        return None
    try:
        return now + parse_duration(value)
    except ValueError as exc:
        raise KeyProblem(str(exc), "expires") from None
