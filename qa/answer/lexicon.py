"""The reader's language data: word lists from `data/lexicon.yaml`, places and nationalities
from the countryinfo package (MIT, data files shipped inside it: nothing is fetched)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data" / "lexicon.yaml"


@dataclass(frozen=True)
class Gazetteer:
    """Country names, their other spellings, capitals and provinces, and demonyms."""

    places: frozenset[str]
    """Lower-cased names of countries, capitals and provinces (multi-word ones included)."""
    demonyms: frozenset[str]
    """Lower-cased nationality words ("kenyan", "french"); a nationality is close to a place."""
    aliases: dict[str, str]
    """One-word spellings, demonyms (and their plurals) of a country → one key for the country,
    so "Kenyan", "Kenya" and "KEN" count as one word in matching."""
    multiword: dict[str, str]
    """Multi-word country names ("united states of america") → the same key."""
    codes: dict[str, str]
    """Country codes as written, in capitals ("US", "UK", "KEN") → the same key: "us", "in"
    and "and" in lower case are words, not codes."""
    regions: frozenset[str] = frozenset()
    """Lower-cased capitals and provinces ("georgia" is a US state as well as a country)."""
    countries: frozenset[str] = frozenset()
    """Lower-cased names and other spellings of countries (not their demonyms)."""
    provinces: dict[str, frozenset[str]] = field(default_factory=dict)
    """A country's key → its lower-cased states or provinces: "which US state" is answered by
    one of the United States'. Not for a country named like another's province (Georgia)."""

    def is_demonym(self, text: str) -> bool:
        """Whether a word is a nationality ("Kenyan", "Kenyans")."""
        lowered = text.lower()
        return lowered in self.demonyms or lowered.removesuffix("s") in self.demonyms

    def is_country(self, text: str) -> bool:
        """Whether a name is a country's (any spelling or code, not its demonym; "DRC Congo"
        is two forms of one), from the data or from lexicon.yaml's `countries_beyond_data`
        (nations the data leaves out)."""
        beyond = words()["countries_beyond_data"]
        lowered = text.lower().removeprefix("the ")
        if lowered in self.countries or lowered in beyond:
            return True
        return all(token.lower() in self.countries or token.lower() in beyond
                   or token.replace(".", "") in self.codes for token in text.split())

    def with_provinces(self, stems: Iterable[str]) -> frozenset[str]:
        """The countries among a text's stems (`terms` folds each country's names to its key)
        whose states or provinces the data lists."""
        return frozenset(stem for stem in stems if stem in self.provinces)

    def most_provinces_named(self, names: Iterable[str]) -> frozenset[str]:
        """The country whose states or provinces the names name most often (as `within` for
        "which state" when the question names no country: the one the evidence is about), or
        none on a tie or when none is named."""
        tally: dict[str, int] = {}
        for name in names:
            for key in self.province_owners.get(name.lower().removeprefix("the "), ()):
                tally[key] = tally.get(key, 0) + 1
        ranked = sorted(tally.items(), key=lambda kv: -kv[1])
        if not ranked or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
            return frozenset()
        return frozenset({ranked[0][0]})

    @cached_property
    def province_owners(self) -> dict[str, set[str]]:
        """A lower-cased state or province → the keys of the countries that have one so named."""
        return _owners(self.provinces)

    @cached_property
    def phrases_by_first_word(self) -> dict[str, list[tuple[tuple[str, ...], str]]]:
        """Multi-word names by their first word, longest first: a scan over a text's words
        finds them in one pass (a regex of 500 names took 1 ms a sentence)."""
        out: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for name, key in self.multiword.items():
            name_words = tuple(name.split())
            out.setdefault(name_words[0], []).append((name_words, key))
        for options in out.values():
            options.sort(key=lambda o: -len(o[0]))
        return out


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return dict(yaml.safe_load(DATA.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def words() -> dict[str, frozenset[str]]:
    """Every word list of `lexicon.yaml` as a set of lower-cased words; `head_nouns` flattened
    to `head:<kind>` entries."""
    data = {k: v for k, v in _data().items() if isinstance(v, list)}
    out = {f"head:{kind}": frozenset(nouns) for kind, nouns in _data()["head_nouns"].items()}
    out |= {name: frozenset(str(w).lower() for w in values) for name, values in data.items()}
    return out


def listed(name: str) -> list[str]:
    """One list of `lexicon.yaml` as written (case kept)."""
    return [str(w) for w in _data()[name]]


@lru_cache(maxsize=1)
def currency_signs() -> dict[str, list[str]]:
    """A currency's name → the signs and codes written before its amounts."""
    return {str(k): [str(v) for v in vs] for k, vs in _data()["currency_signs"].items()}


@lru_cache(maxsize=1)
def type_kin() -> dict[str, frozenset[str]]:
    """A head noun → the other kinds of body that answer it (`organisation_type_kin`)."""
    return {str(k): frozenset(str(w) for w in v)
            for k, v in _data()["organisation_type_kin"].items()}


@lru_cache(maxsize=1)
def accepts() -> dict[str, dict[str, float]]:
    """For each asked kind, the candidate kinds it accepts and the weight of each."""
    return {k: {c: float(w) for c, w in v.items()} for k, v in _data()["accepts"].items()}


def _owners(provinces: dict[str, frozenset[str]]) -> dict[str, set[str]]:
    """A state or province → the keys of the countries that list one so named."""
    owners: dict[str, set[str]] = {}
    for key, own in provinces.items():
        for province in own:
            owners.setdefault(province, set()).add(key)
    return owners


def _listed(value: object) -> list[str]:
    """countryinfo keeps some lists as their Python repr ("['KE', 'KEN']")."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str) and value.startswith("["):
        return [a or b for a, b in re.findall(r"'([^']+)'|\"([^\"]+)\"", value)]
    return []


def _number(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return 0.0


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """Read countryinfo's per-country JSON files once (about 250 small files)."""
    import countryinfo

    folder = Path(countryinfo.__file__).parent / "data"
    places: set[str] = set()
    regions: set[str] = set()
    country_names: set[str] = set()
    demonyms: set[str] = set()
    aliases: dict[str, str] = {}
    multiword: dict[str, str] = {}
    codes: dict[str, str] = {}
    provinces: dict[str, frozenset[str]] = {}
    countries = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")]
    # Most populous first: a demonym two countries share ("American") names the larger one.
    countries.sort(key=lambda c: -_number(c.get("population")))
    for info in countries:
        name = str(info.get("name") or "").strip()
        if not name:
            continue
        iso = info.get("ISO") or {}
        if isinstance(iso, str):
            code = re.search(r"'alpha3':\s*'(\w+)'", iso)
            key = (code.group(1) if code else name).lower()
        else:
            key = str(iso.get("alpha3") or name).lower()
        spellings = [name, *_listed(info.get("altSpellings"))]
        spellings += [s.replace(" of the ", " of ") for s in spellings if " of the " in s]
        for spelling in spellings:
            lowered = spelling.lower()
            if len(spelling) <= 3 and spelling.isupper():
                if len(spelling) >= 2:
                    codes.setdefault(spelling, key)
                continue
            places.add(lowered)
            country_names.add(lowered)
            if " " in lowered:
                multiword[lowered] = key
            else:
                aliases[lowered] = key
        capital = str(info.get("capital") or "")
        if capital and capital != "None":
            places.add(capital.lower())
            regions.add(capital.lower())
        own = frozenset(p.lower() for p in _listed(info.get("provinces")))
        places.update(own)
        regions.update(own)
        provinces.setdefault(key, own)
        demonym = str(info.get("demonym") or "").strip().lower()
        if demonym and " " not in demonym:
            demonyms.add(demonym)
            aliases.setdefault(demonym, key)
            aliases.setdefault(demonym + "s", key)
    owners = _owners(provinces)
    for spelling, key in aliases.items():
        if owners.get(spelling, set()) - {key}:  # Georgia: named like a US state
            provinces.pop(key, None)
    return Gazetteer(frozenset(places), frozenset(demonyms), aliases, multiword, codes,
                     frozenset(regions), frozenset(country_names), provinces)
