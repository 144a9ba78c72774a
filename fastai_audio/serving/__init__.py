"""Served models, torch only: the one exported config (`config`: kind and format_version), the waveform-in
modules (clip classifier, frame detector, embedding classifier), their exporters to safetensors / TorchScript /
ONNX / pt2 and a static web page (`web`), and one loader for them all, `load_exported`.

Layer rule: May import `runtime` and `backbones`; never fastai, fastcore, fasttransform, librosa or matplotlib.
"""
from .classifier import *  # noqa: F401,F403
from .config import *  # noqa: F401,F403
from .detector import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .load import *  # noqa: F401,F403
from .export import *  # noqa: F401,F403
from .card import *  # noqa: F401,F403
from .hub import *  # noqa: F401,F403
from .web import *  # noqa: F401,F403
import importlib as _importlib

__all__ = [name for module in ('config', 'classifier', 'detector', 'embedding', 'load', 'export', 'card', 'hub', 'web')
           for name in _importlib.import_module(f'.{module}', __name__).__all__]
