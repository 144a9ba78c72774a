"""The private names of fastai and fasttransform this package relies on, each used here and nowhere else, so that
an upstream change breaks one place with a message naming the attribute (`tests/test_compat.py` checks each on
the installed versions). It sits in `data`, the lowest layer that needs them; `learn` imports it from here.
(torch's and transformers' private names are in `runtime.compat`.)

Not in `__all__`: internal, imported by module path (`from ..data.compat import DispatchShortcut`).
"""
from __future__ import annotations

from fastai.data.load import _loaders

__all__ = []
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('DispatchShortcut', 'default_model_meta', 'iterate_batches')


class DispatchShortcut:
    """Mixin for a fasttransform `Transform` (put it first among the bases) that skips its per-call dispatch.

    A call on one item, without keywords, first goes to `shortcut(x)`, which returns the result, or
    `NotImplemented` to let fasttransform dispatch `x` as usual (tuples always are, element by element, each
    element coming back here). fasttransform builds a bound dispatcher on every call, which costs more than
    cropping or passing a clip; this overrides its private per-call hook
    `Transform._do_call(name, *args, **kwargs)`.
    """
    def shortcut(self, x): return NotImplemented

    def _do_call(self, nm, *args, **kwargs):
        if nm == 'encodes' and len(args) == 1 and not kwargs and not isinstance(args[0], tuple):
            out = self.shortcut(args[0])
            if out is not NotImplemented: return out
        return super()._do_call(nm, *args, **kwargs)


def iterate_batches(dl, to_device):
    """fastai's `DataLoader.__iter__` for `dl`, with a copy of each batch to the device of one's own.

    The epoch's order is drawn (`get_idxs`) in the main process and stored where fastai's `DataLoader.sample`
    reads it (the name-mangled `dl._DataLoader__idxs`), and the batches come from fastai's pair of torch
    iterators (`fastai.data.load._loaders`: multi-process, single-process).

    Parameters
    ----------
    dl : DataLoader
        A fastai loader.
    to_device : callable
        `to_device(batch)` copies a batch to the device (e.g. non-blocking).

    Yields
    ------
    tuple
        Each batch, on the device, after `dl.after_batch`.
    """
    dl.randomize()
    dl.before_iter()
    dl._DataLoader__idxs = dl.get_idxs()
    for b in _loaders[dl.fake_l.num_workers == 0](dl.fake_l):
        if dl.pin_memory and type(b) == list: b = tuple(b)
        yield dl.after_batch(to_device(b))
    dl.after_iter()
    if hasattr(dl, 'it'): del dl.it


def default_model_meta() -> dict:
    """fastai's description of an architecture it does not know.

    That is `fastai.vision.learner._default_meta` (no cut, `default_split`), which `model_meta.get(arch, ...)`
    falls back on.

    Returns
    -------
    dict
        fastai's default model metadata.
    """
    from fastai.vision.learner import _default_meta
    return _default_meta
