"""fastai batch transforms on the batch's device: the spectrogram front end (`spectrogram`) and the
augmentations (`augment`).

Layer rule: May import `runtime`, `backbones`, `serving` and `core`.
"""
from .. import core  # noqa: F401  (first: fastai is imported there, without its deprecation noise)
from .spectrogram import *  # noqa: F401,F403
from .augment import *  # noqa: F401,F403
import importlib as _importlib

__all__ = [name for module in ('spectrogram', 'augment')
           for name in _importlib.import_module(f'.{module}', __name__).__all__]
