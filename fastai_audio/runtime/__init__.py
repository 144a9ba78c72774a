"""The runtime: what a served model needs, in torch alone (numpy, safetensors; soundfile to read files).

Layer rule: Imports nothing else of fastai_audio and never fastai, fastcore, fasttransform, librosa or matplotlib.
"""
from .functional import *  # noqa: F401,F403
from .frontend import *  # noqa: F401,F403
from .networks import *  # noqa: F401,F403
from .events import *  # noqa: F401,F403
from .arguments import *  # noqa: F401,F403
from .waveform import *  # noqa: F401,F403
import importlib as _importlib

__all__ = [name for module in ('functional', 'frontend', 'networks', 'events', 'arguments', 'waveform')
           for name in _importlib.import_module(f'.{module}', __name__).__all__]
