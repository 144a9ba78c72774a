"""The private names of torch and transformers that the torch-only layers (and the training layers above them)
rely on, each used here and nowhere else, so that an upstream change breaks one function with a message naming
the attribute (`tests/test_compat.py` checks each on the installed versions).

Not in `__all__`: internal, imported by module path (`from ..runtime.compat import uncompile`).
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = []
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('check', 'feature_vector_mask', 'uncompile', 'COMPILED_PREFIX')


def check(condition) -> None:
    """`torch._check(condition)`: a RuntimeError when `condition` is False, and, while `torch.export` or dynamo
    traces, a fact about a value read from a tensor (e.g. `n >= 1` for a count) that lets the exporter keep that
    value symbolic instead of failing on a data-dependent branch."""
    torch._check(condition)


#: the prefix `torch.compile(model)` (an `OptimizedModule`) puts before every key of the state dict it saves
COMPILED_PREFIX = '_orig_mod.'


def uncompile(module: nn.Module) -> None:
    """Undo `module.compile()` in place: `nn.Module.compile` stores the compiled call in the private
    `module._compiled_call_impl`, which `module(...)` uses when set; clearing it makes calls eager again, with
    the parameters (and state-dict keys) untouched. torch has no public way to do this."""
    module._compiled_call_impl = None


def feature_vector_mask(model, n_frames: int, mask: torch.Tensor) -> torch.Tensor:
    """The frames `(batch, n_frames)` (0/1, the mask's dtype) of a transformers wav2vec2-family `model`
    (wav2vec2, HuBERT, WavLM) that hear real samples, given the sample mask `mask` `(batch, samples)` (long):
    the model's private `_get_feature_vector_attention_mask`, which applies its convolutional front end's
    lengths (kernels, strides, adapter layers) to the mask."""
    return model._get_feature_vector_attention_mask(n_frames, mask)
