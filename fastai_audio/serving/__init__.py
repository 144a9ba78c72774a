"""Served models, torch only: the one exported config, the waveform-in modules (clip classifier, frame
detector), their exporters to safetensors / TorchScript / ONNX / pt2, and the loaders.

Layer rule: May import `runtime` and `backbones`; never fastai, fastcore, fasttransform, librosa or matplotlib.
"""
from .classifier import *  # noqa: F401,F403
from .detector import *  # noqa: F401,F403
from .export import *  # noqa: F401,F403
import importlib as _importlib

__all__ = [name for module in ('classifier', 'detector', 'export')
           for name in _importlib.import_module(f'.{module}', __name__).__all__]
