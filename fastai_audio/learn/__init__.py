"""Learners: `AudioLearner` and its factories, metrics, checkpoints, cross-validation, distributed training,
sliding windows and timelines, the SED and embedding learners, and export from a learner.

Layer rule: May import every layer below it: `runtime`, `backbones`, `serving`, `core`, `transforms`, `data`.
"""
from .. import core  # noqa: F401  (first: fastai is imported there, without its deprecation noise)
from .metrics import *  # noqa: F401,F403
from .progress import *  # noqa: F401,F403
from .record import *  # noqa: F401,F403
from .share import *  # noqa: F401,F403
from .distributed import *  # noqa: F401,F403
from .windows import *  # noqa: F401,F403
from .baseline import *  # noqa: F401,F403
from .learner import *  # noqa: F401,F403
from .checkpoint import *  # noqa: F401,F403
from .crossval import *  # noqa: F401,F403
from .sed import *  # noqa: F401,F403
from .embeddings import *  # noqa: F401,F403
import importlib as _importlib

__all__ = [name for module in ('metrics', 'progress', 'record', 'share', 'distributed', 'windows', 'baseline', 'learner', 'checkpoint', 'crossval', 'sed', 'embeddings')
           for name in _importlib.import_module(f'.{module}', __name__).__all__]
