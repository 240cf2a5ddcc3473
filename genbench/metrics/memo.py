"""Reuse of the last value computed from some feature tensors, while those very tensors come again unchanged.

A protocol with precision and recall asks for the same N×N distances twice, and ``fid_infinity`` asks for the
reference set's statistics once per subset. The tensors are held by weak reference (no feature set is kept
alive) together with their in-place version counters, so a tensor edited in place is computed afresh.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

import torch

Value = TypeVar("Value")


class LastResult(Generic[Value]):
    """One remembered value: the result for ``tensors`` and ``settings`` from the latest call."""

    def __init__(self) -> None:
        self._tensors: tuple[weakref.ref, ...] = ()
        self._versions: tuple[int, ...] = ()
        self._settings: Hashable = None
        self._value: Value | None = None

    def _holds(self, tensors: Sequence[torch.Tensor], settings: Hashable) -> bool:
        return (len(tensors) == len(self._tensors) and settings == self._settings
                and all(ref() is t for ref, t in zip(self._tensors, tensors))
                and tuple(t._version for t in tensors) == self._versions)

    def get(self, tensors: Sequence[torch.Tensor], settings: Hashable, compute: Callable[[], Value]) -> Value:
        """The remembered value if it was computed from these same, unmodified tensors and settings; else ``compute()``."""
        if self._holds(tensors, settings):
            return self._value
        value = compute()
        self._tensors = tuple(weakref.ref(t) for t in tensors)
        self._versions = tuple(t._version for t in tensors)
        self._settings, self._value = settings, value
        return value
