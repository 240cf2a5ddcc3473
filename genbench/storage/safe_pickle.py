"""Pickled statistics (EDM2's ``dataset-refs/*.pkl``) read without running any of their code.

A pickle is a program: every class or function it names (``GLOBAL`` / ``STACK_GLOBAL``) is imported and may be
called. ``NumpyOnlyUnpickler`` answers those names from an allow-list of stand-ins that can only rebuild numeric
numpy arrays: ``_reconstruct`` (protocols 0-4, numpy 1 and 2 module paths), ``_frombuffer`` (protocol 5),
``scalar``, ``dtype`` for plain numeric types, and ``_codecs.encode`` for protocol 2's latin-1 bytes. Anything
else, ``os.system`` or a numpy function outside the list included, stops the load before it is called; dicts,
lists, strings and numbers need no name. What comes out is checked to be dicts, numbers, strings and numeric
arrays only.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from genbench.errors import DataError

#: dtype kinds an array may have: booleans, integers, unsigned integers, floats, complex numbers.
NUMERIC_KINDS = "biufc"
#: A statistics pickle larger than this is refused before it is read.
MAX_BYTES = 1 << 30


class Refused(pickle.UnpicklingError):
    """What the pickle asked for that the allow-list does not give."""


class _ArrayClass:
    """What the pickle gets for ``numpy.ndarray``: a token ``_reconstruct`` accepts, never callable itself."""


def _numeric_dtype(*args: Any) -> np.dtype:
    """``numpy.dtype(code, align, copy)`` for a plain numeric type only (no objects, no records)."""
    if not args or not isinstance(args[0], str):
        raise Refused(f"a dtype from {args!r}")
    dtype = np.dtype(args[0])
    if dtype.kind not in NUMERIC_KINDS or dtype.names is not None:
        raise Refused(f"an array of dtype '{args[0]}' (only numeric arrays are read)")
    return dtype


def _reconstruct(cls: Any, shape: Any, typecode: Any) -> np.ndarray:
    """numpy's ``_reconstruct(ndarray, (0,), b'b')``: an empty array whose state the pickle then sets."""
    if not isinstance(cls, _ArrayClass) or shape != (0,) or typecode not in (b"b", "b"):
        raise Refused(f"_reconstruct{(cls, shape, typecode)!r}")
    return np.ndarray((0,), dtype="b")


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """Protocol 5's ``_frombuffer(bytes, dtype, shape, order)`` for a numeric dtype, copied out of the pickle."""
    if not isinstance(dtype, np.dtype) or dtype.kind not in NUMERIC_KINDS or order not in ("C", "F"):
        raise Refused(f"_frombuffer of {dtype!r}")
    return np.frombuffer(bytes(buffer), dtype=dtype).reshape(shape, order=order).copy()


def _scalar(dtype: Any, data: Any) -> Any:
    """``numpy.core.multiarray.scalar(dtype, bytes)`` for a numeric dtype."""
    if not isinstance(dtype, np.dtype) or dtype.kind not in NUMERIC_KINDS or not isinstance(data, bytes):
        raise Refused(f"scalar of {dtype!r}")
    return np.frombuffer(data, dtype=dtype)[0]


def _latin1(text: Any, encoding: str = "utf-8") -> bytes:
    """Protocol 2 writes bytes as ``_codecs.encode(text, 'latin1')``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise Refused(f"_codecs.encode with {encoding!r}")
    return text.encode("latin1")


ALLOWED: dict[tuple[str, str], Any] = {
    **{(module, "_reconstruct"): _reconstruct for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(module, "scalar"): _scalar for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(module, "_frombuffer"): _frombuffer for module in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "ndarray"): _ArrayClass(),
    ("numpy", "dtype"): _numeric_dtype,
    ("_codecs", "encode"): _latin1,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler whose every name comes from ``ALLOWED``; any other name stops the load."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            found = ALLOWED[(module, name)]
        except KeyError:
            raise Refused(f"'{module}.{name}'") from None
        return _ArrayClass() if isinstance(found, _ArrayClass) else found  # a fresh token: nothing shared to alter

    def persistent_load(self, pid: Any) -> Any:
        raise Refused(f"persistent object {pid!r}")


def _checked(value: Any, where: str) -> Any:
    """``value`` when it is made of dicts with string keys, lists, numbers, strings and numeric arrays only."""
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise Refused(f"a dict with non-string keys at {where}")
        return {key: _checked(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_checked(item, where) for item in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in NUMERIC_KINDS or value.dtype.names is not None:
            raise Refused(f"an array of {value.dtype} at {where}")
        return value
    if isinstance(value, (bool, int, float, str, np.generic)) or value is None:
        return value
    raise Refused(f"a {type(value).__name__} at {where}")


def load_numpy_pickle(path: Path, conversion: str) -> Any:
    """The dicts and numeric arrays pickled in ``path``, read by ``NumpyOnlyUnpickler``; a pickle that needs
    anything else is refused in one line that names it and ends with ``conversion`` (how to make an .npz)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise DataError(f"{path} is {size} bytes, more than a statistics pickle holds; {conversion}")
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path} cannot be read ({exc})") from None
    try:
        return _checked(NumpyOnlyUnpickler(io.BytesIO(data)).load(), "top")
    except Refused as exc:
        raise DataError(f"{path}: a pickle that asks for {exc}, which is not a numeric numpy array or a dict, so "
                        f"genbench did not run it; {conversion}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise DataError(f"{path} is not a statistics pickle genbench can read safely ({type(exc).__name__}: "
                        f"{first}); {conversion}") from None
