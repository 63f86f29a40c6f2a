"""The registry of components: every selector, corruption, combinator, augmenter, synonym source and
translator under a versioned name (`maskkit.span.v1`), with `to_dict` / `from_dict`.

A spec is a plain dict that TOML and JSON hold: `{"@component": "maskkit.span.v1", "rate": 0.15, ...}`,
components nested inside it are specs too. `from_dict(to_dict(c))` equals `c` and masks or augments
exactly as `c` does, so a run folder's manifest records a spec that loads back, and a TOML file can name
any component. A name's behaviour never changes: a component whose output changes gets a new version
(`maskkit.span.v2`) and the old name keeps loading the old one.

To add a component: decorate its class with `@register("maskkit.NAME.v1", kind=..., short="NAME")` and
add its module to `COMPONENT_MODULES`; the contract tests in `tests/test_registry.py` then cover it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any, TypeVar

from maskkit.errors import InputError, MissingKey, WrongType

KINDS = ("selector", "corruption", "augmenter", "synonyms", "translator", "recipe")
# The modules whose components register themselves (imported by `catalogue` and `from_dict`).
COMPONENT_MODULES = (
    "maskkit.masking.selectors", "maskkit.masking.corruption", "maskkit.masking.correction",
    "maskkit.masking.compose", "maskkit.masking.schemes", "maskkit.augment.eda", "maskkit.augment.compose",
    "maskkit.augment.translate", "maskkit.augment.neural", "maskkit.augment.plugins", "maskkit.text.synonyms",
    "maskkit.selective.recipes", "maskkit.distill.recipes",
)  # fmt: skip
KEY = "@component"

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """One registered component: its versioned name, kind, short name (the CLI's), how to build it from its
    parameters and how to read its parameters back. `why_not` says why a component cannot be serialised
    (it wraps a live object); it is still registered, so the catalogue lists it."""

    name: str
    kind: str
    build: Callable[..., Any]
    cls: type | None
    short: str | None = None
    params: Callable[[Any], dict[str, Any]] | None = None
    why_not: str | None = None


REGISTRY: dict[str, Entry] = {}
_BY_CLASS: dict[type, str] = {}


def register(
    name: str, kind: str, short: str | None = None, params: Callable[[Any], dict[str, Any]] | None = None,
    why_not: str | None = None,
) -> Callable[[T], T]:  # fmt: skip
    """Registers a class (a frozen dataclass, whose init fields that take part in equality are its
    parameters; or any class with `params(obj) -> dict` given) or a factory function (built from specs
    only: its output serialises as the class it returns)."""
    if kind not in KINDS:
        raise InputError(f"unknown component kind {kind!r}; kinds: {KINDS}")
    if not name.startswith("maskkit.") or not name.rsplit(".", 1)[-1].startswith("v"):
        raise InputError(f"component names are versioned, 'maskkit.NAME.vN'; got {name!r}")

    def decorate(obj: T) -> T:
        if name in REGISTRY:
            raise InputError(f"component {name!r} is registered twice")
        cls = obj if isinstance(obj, type) else None
        REGISTRY[name] = Entry(name, kind, obj, cls, short, params, why_not)  # type: ignore[arg-type]
        if cls is not None:
            _BY_CLASS[cls] = name
        return obj

    return decorate


def register_recipe(name: str, short: str, values: dict[str, Any]) -> None:
    """Registers a named recipe (the settings it fills): `from_dict({"@component": name})` gives its values."""
    frozen = dict(values)
    register(name, "recipe", short=short)(lambda: dict(frozen))


def recipe_name(family: str, short: str) -> str:
    """The versioned name of a recipe of a family ("selective", "distill") by its short name."""
    load_components()
    for name, entry in REGISTRY.items():
        if entry.kind == "recipe" and entry.short == short and name.startswith(f"maskkit.{family}."):
            return name
    raise InputError(f"no {family} recipe {short!r} is registered")


def load_components() -> None:
    for module in COMPONENT_MODULES:
        import_module(module)


def catalogue(kind: str | None = None) -> dict[str, Entry]:
    """The registered components (of one kind), by versioned name."""
    load_components()
    return {name: e for name, e in sorted(REGISTRY.items()) if kind is None or e.kind == kind}


def short_names(kind: str) -> dict[str, str]:
    """Short name -> versioned name, for the components of a kind that have one (the CLI's choices)."""
    return {e.short: name for name, e in catalogue(kind).items() if e.short}


def entry_of(component: Any) -> Entry:
    load_components()
    name = _BY_CLASS.get(type(component))
    if name is None:
        raise WrongType(f"{type(component).__name__} is not a registered maskkit component")
    return REGISTRY[name]


def dataclass_params(component: Any) -> dict[str, Any]:
    """A frozen dataclass's parameters: its init fields that take part in equality (state derived by
    `bind(tokenizer)` is left out: a loaded component binds again)."""
    return {f.name: getattr(component, f.name) for f in dataclasses.fields(component) if f.init and f.compare}


def _encode(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value) and KEY not in value:
        return {k: _encode(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, frozenset):
        return {"@frozenset": sorted(_encode(v, where) for v in value)}
    if type(value) in _BY_CLASS:
        return to_dict(value, where)
    raise WrongType(f"{where} is a {type(value).__name__}, which a spec cannot hold")


def to_dict(component: Any, where: str | None = None) -> dict[str, Any]:
    """The component's spec: its versioned name and parameters, nested components as specs."""
    entry = entry_of(component)
    where = where or entry.name
    if entry.why_not:
        named = where if where == entry.name else f"{where} ({entry.name})"
        raise WrongType(f"{named} cannot be serialised: {entry.why_not}")
    params = entry.params(component) if entry.params else dataclass_params(component)
    return {KEY: entry.name, **{k: _encode(v, f"{where}.{k}") for k, v in params.items()}}


def spec_of(component: Any) -> Any:
    """What a manifest records for a component: its spec, or, for a component of the user's own that is not
    registered (or cannot be serialised), its repr under "unregistered"."""
    try:
        return to_dict(component)
    except WrongType:
        return {"unregistered": repr(component)}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    if isinstance(value, dict):
        if set(value) == {"@none"}:  # TOML's stand-in for None (it has no null)
            return None
        if set(value) == {"@frozenset"}:
            return frozenset(_decode(v) for v in value["@frozenset"])
        if KEY in value:
            return from_dict(value)
        return {k: _decode(v) for k, v in value.items()}
    return value


def from_dict(spec: dict[str, Any]) -> Any:
    """Builds the component a spec names (the error names an unknown component or a wrong parameter)."""
    if not isinstance(spec, dict) or KEY not in spec:
        raise MissingKey(f"a component spec is a table with an {KEY!r} key naming the component, got {spec!r}")
    load_components()
    name = spec[KEY]
    if name not in REGISTRY:
        raise InputError(f"unknown component {name!r}; registered: {', '.join(sorted(REGISTRY))}")
    params = {k: _decode(v) for k, v in spec.items() if k != KEY}
    import inspect

    build = REGISTRY[name].build
    try:  # only binding the parameters is the user's to fix: a TypeError raised while building is a bug
        inspect.signature(build).bind(**params)
    except TypeError as error:  # an unknown or missing parameter of the spec, named
        known = [p for p in inspect.signature(build).parameters if not p.startswith("_")]
        raise WrongType(f"{name}: {error}; its parameters: {', '.join(known)}") from None
    except ValueError:  # a builtin without a signature: build and let its error speak
        pass
    return build(**params)


def resolve_name(name: str, kind: str) -> str:
    """A versioned name, or a short name of a kind, as the versioned name."""
    load_components()
    if name in REGISTRY and REGISTRY[name].kind == kind:
        return name
    shorts = short_names(kind)
    if name in shorts:
        return shorts[name]
    raise InputError(f"unknown {kind} {name!r}; choose one of {', '.join(sorted(shorts))} (or a versioned name)")
