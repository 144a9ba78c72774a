"""Data: decoding and its cache (`loading`), the memmap store (`memmap`), crop/pad, the block and the DataLoaders
factories (`blocks`), the fluent facade, bad files, label tables (`labels`), the SED loaders (`sed`) and WebDataset
shards (`shards`).

Layer rule: May import `runtime`, `backbones`, `serving`, `core` and `transforms`.
"""
from .. import core  # noqa: F401  (first: fastai is imported there, without its deprecation noise)
from .loading import *  # noqa: F401,F403
from .memmap import *  # noqa: F401,F403
from .croppad import *  # noqa: F401,F403
from .badfiles import *  # noqa: F401,F403
from .blocks import *  # noqa: F401,F403
from .fluent import *  # noqa: F401,F403
from .labels import *  # noqa: F401,F403
from .sed import *  # noqa: F401,F403
from .shards import *  # noqa: F401,F403
import importlib as _importlib

__all__ = [name for module in ('loading', 'memmap', 'croppad', 'badfiles', 'blocks', 'fluent', 'labels', 'sed', 'shards')
           for name in _importlib.import_module(f'.{module}', __name__).__all__]
