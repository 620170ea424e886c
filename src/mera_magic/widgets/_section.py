"""What every part of the panel (model, tasks, options, environment) has in common."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Callable, Optional

import ipywidgets as W

from ..spec import RunSpec
from ._fields import Field, close_tree

#: looks a text up in the panel's current language: ``texts(key, **fields)``
Texts = Callable[..., str]


class Section(ABC):
    """A group of fields that reads its part of a RunSpec and writes it back, one field at a time."""

    def __init__(self, texts: Texts, changed: Callable[[Section, Field], None],
                 namespace: Optional[Mapping[str, Any]] = None) -> None:
        self.texts = texts
        self._changed = changed
        self.namespace = namespace
        self.fields: dict[str, Field] = {}
        self.box: W.Widget = W.VBox()

    def add(self, field: Field) -> Field:
        """Register a field (by its ``where``) and report its changes to the panel."""
        self.fields[field.where] = field
        field.on_change(lambda: self._changed(self, field))
        return field

    @abstractmethod
    def load(self, spec: RunSpec) -> None:
        """Show ``spec``'s values (the panel suppresses change reports meanwhile)."""

    @abstractmethod
    def store(self, spec: RunSpec, field: Field) -> None:
        """Write ``field``'s value into ``spec``; raise FieldValueError when its text cannot be read."""

    def fallback_field(self, where: str) -> Optional[Field]:
        """The field that shows findings about ``where`` when no field has that exact name."""
        return None

    def close(self) -> None:
        """Close all widgets of the section."""
        close_tree(self.box)
