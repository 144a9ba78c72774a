"""Networks, torch only: the registry of audio backbones (its front ends are the presets), PANNs, CREPE,
Hugging Face encoders, the frame-level SED heads, and where pretrained weights come from.

Layer rule: May import `runtime`; never fastai, fastcore, fasttransform, librosa or matplotlib.
"""
from .presets import *  # noqa: F401,F403
from .pretrained import *  # noqa: F401,F403
from .panns import *  # noqa: F401,F403
from .crepe import *  # noqa: F401,F403
from .hf import *  # noqa: F401,F403
from .registry import *  # noqa: F401,F403
from .sed import *  # noqa: F401,F403
import importlib as _importlib

__all__ = [name for module in ('presets', 'pretrained', 'panns', 'crepe', 'hf', 'registry', 'sed')
           for name in _importlib.import_module(f'.{module}', __name__).__all__]
