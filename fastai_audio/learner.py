"""Learners for spectrograms: `audio_learner` (and the classic `create_cnn`), the rule that adapts a
pretrained RGB first convolution to one channel, and the displays for results and top losses.

The first-conv rule (the same one fastai's `vision_learner` and timm apply): for one input channel the new
filter is the sum of the three RGB filters. A grey image fed to the RGB network as (x, x, x) then gives
exactly the activations the one-channel network gives for x, so the pretrained features keep their meaning.
For n_in > 3 the RGB filters are repeated cyclically (R, G, B, R, ...) and scaled by 3 / n_in, which keeps the
response to a constant input exactly when n_in is a multiple of 3; for n_in = 2 the first two filters are
scaled by 3 / 2.
"""
from __future__ import annotations

import torch
from torch import nn
from fastai.data.core import show_results
from fastai.interpret import plot_top_losses
from fastai.learner import Learner
from fastai.vision.data import get_grid
from fastai.vision.learner import vision_learner
from fastai.data.transforms import Category
from fastcore.meta import delegates
from plum import dispatch

from .features import AudioSpectrogram, SpecNormalize
from .core import AudioTensor, tidy_grid

__all__ = ['adapt_input_conv', 'adapt_first_conv', 'audio_learner', 'create_cnn']


def adapt_input_conv(weight: torch.Tensor, n_in: int) -> torch.Tensor:
    """Filters `(out, 3, kh, kw)` of a pretrained RGB convolution turned into `(out, n_in, kh, kw)` by the rule
    in this module's docstring: n_in=1 sums the RGB filters."""
    c = weight.shape[1]
    if n_in == c: return weight
    if n_in == 1: return weight.sum(dim=1, keepdim=True)
    reps = -(-n_in // c)
    return weight.repeat(1, reps, 1, 1)[:, :n_in] * (c / n_in)


def _first_conv(model: nn.Module):
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Conv2d): return parent, name, child
    return None, None, None


def adapt_first_conv(model: nn.Module, n_in: int = 1) -> nn.Module:
    "Replace `model`'s first `nn.Conv2d` by one taking `n_in` channels, its weights by `adapt_input_conv`."
    parent, name, conv = _first_conv(model)
    if conv is None: raise ValueError(f'{type(model).__name__} has no nn.Conv2d whose input channels could be set')
    if conv.in_channels == n_in: return model
    new = nn.Conv2d(n_in, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    conv.groups, conv.bias is not None, conv.padding_mode)
    with torch.no_grad():
        new.weight.copy_(adapt_input_conv(conv.weight, n_in))
        if conv.bias is not None: new.bias.copy_(conv.bias)
    setattr(parent, name, new.to(conv.weight.device, conv.weight.dtype))
    return model


def _ensure_normalized(dls):
    "Pretrained nets expect inputs near zero mean, unit variance: add a `SpecNormalize` if the data has none."
    if any(isinstance(t, SpecNormalize) for t in dls.after_batch.fs): return
    tfm = SpecNormalize()
    if not isinstance(dls.one_batch()[0], AudioSpectrogram):
        raise TypeError('audio_learner needs spectrogram batches: put a MelSpectrogram (e.g. '
                        'get_frequency_batch_transforms(...)) in batch_tfms')
    tfm.setups(dls.train)
    dls.add_tfms([tfm], 'after_batch')


@delegates(vision_learner, but=['dls', 'arch', 'n_in', 'pretrained', 'normalize'])
def audio_learner(dls, arch, pretrained: bool = True, n_in: int = 1, normalize: bool = True, loss_func=None,
                  metrics=None, **kwargs) -> Learner:
    """A `Learner` that classifies spectrogram batches `(batch, n_in, freq, frames)`.

    arch : a torchvision architecture (`resnet18`, `models.resnet34`...), a timm name ('convnext_tiny'...),
        or a ready `nn.Module` (its first `nn.Conv2d` is adapted to `n_in` channels if needed).
    pretrained : load ImageNet weights (torchvision / timm) and freeze the body, as `vision_learner` does; the
        RGB first convolution becomes an `n_in`-channel one by summing its filters (see `adapt_input_conv`).
    normalize : make sure the batches are standardised (adds a `SpecNormalize` measured on a training batch
        when `dls` has none), since fastai adds no ImageNet statistics for one channel.
    Other arguments go to `vision_learner` (head, splitter, `n_out`...) or `Learner`.
    """
    if normalize: _ensure_normalized(dls)
    if isinstance(arch, nn.Module):
        unknown = sorted(set(kwargs) - set(_LEARNER_ARGS))
        if unknown: raise TypeError(f'audio_learner with a ready nn.Module takes only Learner arguments; got {unknown}')
        learn = Learner(dls, adapt_first_conv(arch, n_in), loss_func=loss_func, metrics=metrics, **kwargs)
    else:
        learn = vision_learner(dls, arch, n_in=n_in, pretrained=pretrained, normalize=False, loss_func=loss_func,
                               metrics=metrics, **kwargs)
    return learn


_LEARNER_ARGS = ('opt_func', 'lr', 'splitter', 'cbs', 'path', 'model_dir', 'wd', 'wd_bn_bias', 'train_bn', 'moms')


@delegates(audio_learner)
def create_cnn(data, arch, **kwargs) -> Learner:
    "The classic name for `audio_learner(data, arch, ...)`."
    return audio_learner(data, arch, **kwargs)


# --------------------------------------------------------------------------- displays
def _show_input(s, ax, **kwargs):
    s.show(ctx=ax, **({'player': False} if isinstance(s, AudioTensor) else {}), **kwargs)


@dispatch
def show_results(x: AudioSpectrogram, y, samples, outs, ctxs=None, max_n=9, nrows=None, ncols=None, figsize=None,
                 **kwargs):
    if ctxs is None: ctxs = get_grid(min(len(samples), max_n), nrows=nrows, ncols=ncols, figsize=figsize,
                                     title='actual / predicted')
    for s, o, ax, _ in zip(samples, outs, ctxs, range(max_n)):
        _show_input(s[0], ax, **kwargs)
        ok = isinstance(o[0], Category) and str(o[0]) == str(s[1])
        ax.set_title(f'{s[1]}\n{o[0]}', color='green' if ok else 'red')
    return tidy_grid(ctxs[:min(len(samples), max_n)])


@dispatch
def plot_top_losses(x: AudioSpectrogram, y, samples, outs, raws, losses, nrows=None, ncols=None, figsize=None,
                    **kwargs):
    axs = get_grid(len(samples), nrows=nrows, ncols=ncols, figsize=figsize,
                   title='predicted / actual / loss / probability')
    for ax, s, o, r, l in zip(axs, samples, outs, raws, losses):
        _show_input(s[0], ax, **kwargs)
        ax.set_title(f'{o[0]} / {s[1]} / {l.item():.2f} / {r.max().item():.2f}')
    return tidy_grid(axs)
