"""Amounts with a unit, converted between imperial/US customary and metric with pint, to the precision written.

Unit words are the ones pint's registry knows for each unit (symbol, name, plural, aliases) plus the usual print
forms pint also reads (`lbs`, `sq ft`, `ft²`, `°F`, `km/h`), each checked against pint when the table is built.
Units whose size depends on the country are never converted (US and imperial gallons, pints, fluid ounces, tons),
nor are amounts in words (`five feet`), ranges (`5-10 ft`, `5 to 10 ft`: converting the last number alone would
change the first) or an `in` that is not part of feet and inches (`5 in the morning`).

The result keeps the resolution of the original: the last written digit of the amount, converted, decides the
decimals (5 ft 2 in -> 157 cm; 98.6 °F -> 37.0 °C; 6 ft -> 1.8 m).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from curate.core.errors import MissingDependencyError
from curate.standardize import Change

# unit (pint name) -> the unit it becomes, per direction
TO_METRIC = {
    "inch": "centimeter",
    "foot": "meter",
    "yard": "meter",
    "mile": "kilometer",
    "pound": "kilogram",
    "ounce": "gram",
    "degree_Fahrenheit": "degree_Celsius",
    "mile_per_hour": "kilometer_per_hour",
    "acre": "hectare",
    "foot ** 2": "meter ** 2",
    "mile ** 2": "kilometer ** 2",
}
TO_IMPERIAL = {
    "millimeter": "inch",
    "centimeter": "inch",
    "meter": "foot",
    "kilometer": "mile",
    "kilogram": "pound",
    "gram": "ounce",
    "degree_Celsius": "degree_Fahrenheit",
    "kilometer_per_hour": "mile_per_hour",
    "hectare": "acre",
    "meter ** 2": "foot ** 2",
    "kilometer ** 2": "mile ** 2",
}
# Print forms that are not in pint's alias lists but that pint parses (checked in `unit_forms`).
PRINT_FORMS = (
    "mph",
    "kph",
    "lbs",
    "sq ft",
    "sq. ft.",
    "ft²",
    "sq mi",
    "mi²",
    "m²",
    "km²",
    "kmh",
    "km/h",
    "°F",
    "ºF",
    "° F",
    "°C",
    "ºC",
    "° C",
    "degrees Fahrenheit",
    "degrees Celsius",
    "metres",
    "kilometres",
    "centimetres",
    "millimetres",
)
# Forms that are ordinary words or too short to trust alone.
NOT_ALONE = {"in", "in."}
# Forms that name something else as often: `5 pounds` may be money.
AMBIGUOUS = {"pound", "pounds"}
FEET = r"(?:ft|feet|foot|′|')"
INCHES = r"(?:in\.?|inch(?:es)?|″|\")"
DIRECTIONS = {"metric": TO_METRIC, "imperial": TO_IMPERIAL}
CANDIDATE = r"\d\s*(?:[°º′″'\"]|[a-zA-Z])"  # the polars pre-filter: a digit before a unit-like character


def _pint():
    try:
        import pint
    except ImportError:
        raise MissingDependencyError("unit conversion (units: metric|imperial)", "pint", "standardize") from None
    return pint


@cache
def registry():
    return _pint().UnitRegistry()


def _same_unit(form: str, name: str) -> bool:
    ureg = registry()
    try:
        quantity = ureg.Quantity(1.0, form)
        return math.isclose(quantity.to(name).magnitude, 1.0, rel_tol=1e-9)
    except Exception:  # pint raises its own error types for forms it does not know or cannot convert
        return False


@cache
def unit_forms(direction: str) -> dict[str, str]:
    """Surface form (lowercase) -> the pint unit it names, for every unit that `direction` converts: pint's own
    symbol, names, plurals and aliases of each, and the print forms pint also reads."""
    ureg = registry()
    forms: dict[str, str] = {}
    for name in DIRECTIONS[direction]:
        candidates = set(PRINT_FORMS) | {f"{ureg.Unit(name):~P}", name}
        definition = ureg._units.get(name)
        if definition is not None:
            candidates |= {definition.symbol or "", definition.name + "s", *definition.aliases}
        for form in sorted(c for c in candidates if c and not c.startswith(("international", "avdp", "avoirdupois"))):
            readable = form.replace("º", "°").replace("° ", "°").replace("degrees ", "degree_")
            if form.lower() not in forms and _same_unit(readable, name):
                forms[form.lower()] = name
    return {form: unit for form, unit in forms.items() if form not in AMBIGUOUS}


@cache
def _pattern(direction: str) -> re.Pattern:
    forms = sorted(unit_forms(direction), key=lambda f: (-len(f), f))
    alternation = "|".join(re.escape(f).replace(r"\ ", r"\s?") for f in forms)
    number = r"[-−]?\d+(?:[.,'’\u00a0\u202f]\d+)*"
    compound = rf"(?P<ft>{number})\s?{FEET}\s?(?P<inch>{number})\s?{INCHES}|" if direction == "metric" else ""
    simple = rf"(?P<amount>{number})[\s\u00a0\u202f]?(?P<unit>{alternation})"
    return re.compile(rf"(?<![\w.,$€£¥])(?:{compound}{simple})(?![\w²³/])", re.IGNORECASE)


_RANGE_BEFORE = re.compile(r"\d[\s\u00a0]*(?:[-–—x×]|[^\W\d_]{1,4})[\s\u00a0]*$")


@dataclass(frozen=True)
class Amount:
    value: Decimal
    places: int  # decimals written


def _amount(text: str, read) -> Amount | None:
    """The amount as written (the row's locale reads separators), with its decimals."""
    sign = -1 if text[:1] in "-−" else 1
    digits = text.lstrip("-−")
    value = Decimal(digits) if digits.isdigit() else read(digits)
    if value is None:
        return None
    return Amount(sign * value, max(0, -int(value.as_tuple().exponent)))


def convert(value: Decimal, places: int, unit: str, target: str) -> tuple[float, int]:
    """The value in `target` and the decimals that keep the original's resolution (one unit of its last digit)."""
    ureg = registry()
    converted = ureg.Quantity(float(value), unit).to(target).magnitude
    delta = {"degree_Fahrenheit": "delta_degree_Fahrenheit", "degree_Celsius": "delta_degree_Celsius"}
    step = ureg.Quantity(10.0**-places, delta.get(unit, unit)).to(delta.get(target, target)).magnitude
    return converted, max(0, round(-math.log10(abs(step))))


def unit_symbol(unit: str) -> str:
    return f"{registry().Unit(unit):~P}".replace("kph", "km/h")


def find_units(text: str, direction: str, read, write) -> list[Change]:
    """Every convertible amount in `text`: `read(number text)` -> Decimal or None (the row's locale), `write(value,
    places)` -> the number as the output writes it."""
    found = []
    forms = unit_forms(direction)
    table = DIRECTIONS[direction]
    for match in _pattern(direction).finditer(text):
        start, end = match.span()
        before = match.group(0)
        if _RANGE_BEFORE.search(text[max(0, start - 12) : start]):
            found.append(Change("unit", start, end, before, None, "range"))
            continue
        if match.groupdict().get("ft") is not None:
            feet, inches = _amount(match.group("ft"), read), _amount(match.group("inch"), read)
            if feet is None or inches is None or feet.places:
                continue
            amount, unit = Amount(feet.value * 12 + inches.value, inches.places), "inch"
        else:
            form = match.group("unit").lower()
            form = re.sub(r"\s", " ", form)
            unit = forms.get(form) or forms.get(form.replace(" ", ""))
            if unit is None or form in NOT_ALONE:
                continue
            amount = _amount(match.group("amount"), read)
            if amount is None:
                found.append(Change("unit", start, end, before, None, "unreadable"))
                continue
        target = table[unit]
        value, places = convert(amount.value, amount.places, unit, target)
        found.append(Change("unit", start, end, before, f"{write(value, places)} {unit_symbol(target)}"))
    return found
