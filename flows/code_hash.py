"""The source text of the code that computes something, hashed: a change in how a result is
computed makes a new result even when its inputs are the same (a score run, the network
measures)."""

from __future__ import annotations

import hashlib
import inspect
import pkgutil
from importlib import import_module
from types import ModuleType


def source_hash(*modules: ModuleType) -> str:
    """The hash of these modules' source; a package counts each of its modules."""
    texts = []
    for module in modules:
        if hasattr(module, "__path__"):  # a package
            names = sorted(m.name for m in pkgutil.iter_modules(module.__path__))
            texts += [inspect.getsource(import_module(f"{module.__name__}.{name}"))
                      for name in names]
        else:
            texts.append(inspect.getsource(module))
    return hashlib.sha256("".join(texts).encode()).hexdigest()
