"""Datasets: recipes for public sets (download, metadata, DataLoaders), archive extraction, and the offline
synthetic sets and soundscapes.

Layer rule: May import every layer below it (`learn` included).
"""
from .. import core  # noqa: F401  (first: fastai is imported there, without its deprecation noise)
from .archives import *  # noqa: F401,F403
from .recipes import *  # noqa: F401,F403
from .synth import *  # noqa: F401,F403
from .soundscapes import *  # noqa: F401,F403
import importlib as _importlib

__all__ = [name for module in ('archives', 'recipes', 'synth', 'soundscapes')
           for name in _importlib.import_module(f'.{module}', __name__).__all__]
