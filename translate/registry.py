"""Name -> object registries (variants, architectures, adversarial objectives).

Registering is one decorator. Each entry remembers where it came from (the plugin
being loaded at the time), so a duplicate name is an error naming both sources.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from translate.errors import PluginError

T = TypeVar("T")

# The plugin source currently being imported ("entry point cyclegan", "file /x/y.py").
_current_source: list[str] = []


@contextlib.contextmanager
def loading_source(source: str) -> Iterator[None]:
    """Attribute registrations made inside this block to `source`."""
    _current_source.append(source)
    try:
        yield
    finally:
        _current_source.pop()


def current_source(default: str) -> str:
    return _current_source[-1] if _current_source else default


class Registry(Generic[T]):
    """A mapping from names to objects that refuses silent overrides."""

    all: list[Registry[Any]] = []  # every registry, so a failed plugin's entries can be undone

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._sources: dict[str, str] = {}
        Registry.all.append(self)

    def add(self, name: str, obj: T, source: str | None = None) -> T:
        src = source or current_source(getattr(obj, "__module__", "?"))
        if name in self._items and self._items[name] is not obj:
            raise PluginError(
                f"duplicate {self.kind} name '{name}': defined by {self._sources[name]} "
                f"and by {src}; rename one of them"
            )
        self._items[name] = obj
        self._sources[name] = src
        return obj

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator: ``@REG.register("name")`` or ``@REG.register()`` (uses ``obj.name`` / ``__name__``)."""

        def deco(obj: T) -> T:
            key = name or getattr(obj, "name", None) or obj.__name__  # type: ignore[attr-defined]
            return self.add(key, obj)

        return deco

    def get(self, name: str) -> T:
        if name not in self._items:
            known = ", ".join(sorted(self._items)) or "(none)"
            raise PluginError(f"unknown {self.kind} '{name}'; known: {known}")
        return self._items[name]

    def source(self, name: str) -> str:
        return self._sources[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def remove(self, name: str) -> None:
        self._items.pop(name, None)
        self._sources.pop(name, None)

    def remove_source(self, source: str) -> None:
        for name in [n for n, src in self._sources.items() if src == source]:
            self.remove(name)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, T]]:
        return [(k, self._items[k]) for k in self.names()]

