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
from fastai.interpret import Interpretation, plot_top_losses
from fastai.metrics import accuracy, accuracy_multi
from fastai.callback.channelslast import ChannelsLast
from fastai.callback.core import Callback
import fastai.callback.fp16  # noqa: F401  (adds Learner.to_fp16 and to_bf16)
from fastai.learner import Learner
from fastai.vision.data import get_grid
from fastai.vision.learner import vision_learner
from fastai.data.transforms import Category, MultiCategory
from fastcore.meta import delegates
from plum import dispatch

from .features import AudioSpectrogram, SpecNormalize
from .core import AudioTensor, tidy_grid
from .data import is_multi_label
from .inference import AudioLearner
from .metrics import LWLRAP, average_precision
from .pretrained import PretrainedWeightsError, check_and_locate, download_failed

__all__ = ['adapt_input_conv', 'adapt_first_conv', 'audio_learner', 'create_cnn', 'default_metrics', 'CompileModel',
           'MultiLabelInterpretation']


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


def default_metrics(dls) -> list:
    "Metrics for the task in `dls`: `[accuracy_multi, LWLRAP()]` for multi-label targets, else `[accuracy]`."
    return [accuracy_multi, LWLRAP()] if is_multi_label(dls) else [accuracy]


class CompileModel(Callback):
    """Train with `torch.compile`: the model is compiled in place (`nn.Module.compile(**kwargs)`) when a fit
    starts and restored to eager when it ends, so its state-dict keys never change (`learn.save`,
    `SaveModelCallback` and the exports work as usual) and `learn.export` can pickle it afterwards. The first
    batches of a fit pay the compilation (about a minute for a resnet18 on a CPU); each new batch shape (the
    last, smaller batch; padded variable-length batches) may compile again."""
    order = 5                                     # after ChannelsLast (-1) has set the memory format
    def __init__(self, **kwargs): self.kwargs = kwargs
    def before_fit(self): self.learn.model.compile(**self.kwargs)
    def after_fit(self): self.learn.model._compiled_call_impl = None     # what nn.Module.compile set


_PRECISIONS = {'fp16': lambda learn: learn.to_fp16(), 'bf16': lambda learn: learn.to_bf16()}


def _speed_options(learn, mixed_precision, channels_last, compile):
    if mixed_precision is not None:
        if mixed_precision not in _PRECISIONS:
            raise ValueError(f"mixed_precision must be None, 'fp16' or 'bf16', got {mixed_precision!r}")
        _PRECISIONS[mixed_precision](learn)
    if channels_last: learn.add_cb(ChannelsLast())
    if compile: learn.add_cb(CompileModel(**(compile if isinstance(compile, dict) else {})))
    return learn


@delegates(vision_learner, but=['dls', 'arch', 'n_in', 'pretrained', 'normalize'])
def audio_learner(dls, arch, pretrained: bool = True, n_in: int = 1, normalize: bool = True, loss_func=None,
                  metrics=None, mixed_precision: str | None = None, channels_last: bool = False,
                  compile: bool | dict = False, **kwargs) -> AudioLearner:
    """A `Learner` that classifies spectrogram batches `(batch, n_in, freq, frames)`.

    arch : a torchvision architecture (`resnet18`, `models.resnet34`...), a timm name ('convnext_tiny'...),
        or a ready `nn.Module` (its first `nn.Conv2d` is adapted to `n_in` channels if needed).
    pretrained : load ImageNet weights (torchvision / timm) and freeze the body, as `vision_learner` does; the
        RGB first convolution becomes an `n_in`-channel one by summing its filters (see `adapt_input_conv`).
        Weights already in torch's or Hugging Face's cache are used without the network; when they are neither
        there nor downloadable, `PretrainedWeightsError` says from where they were wanted, where to put the
        file by hand, and that `pretrained=False` trains from scratch.
    normalize : make sure the batches are standardised (adds a `SpecNormalize` measured on a training batch
        when `dls` has none), since fastai adds no ImageNet statistics for one channel.
    loss_func : None lets fastai choose from the targets: cross-entropy for one label, BCE-with-logits for
        multi-label (`MultiCategoryBlock`). metrics : None gives `default_metrics(dls)` (accuracy; or
        accuracy_multi and lwlrap for multi-label); pass [] for none.
    mixed_precision : None (float32, fastai's default), 'fp16' (`learn.to_fp16()`) or 'bf16' (`learn.to_bf16()`):
        the network runs under CUDA autocast; the spectrogram front end (a batch transform, outside autocast)
        stays float32. Has no effect on a CPU.
    channels_last : keep the network in channels-last memory format (fastai's `ChannelsLast`), which suits
        tensor cores, especially with mixed precision.
    compile : True, or a dict of `torch.compile` arguments (`mode='max-autotune'`...): `CompileModel`.
    Other arguments go to `vision_learner` (head, splitter, `n_out`...) or `Learner`.
    """
    if normalize: _ensure_normalized(dls)
    if metrics is None: metrics = default_metrics(dls)
    if isinstance(arch, nn.Module):
        unknown = sorted(set(kwargs) - set(_LEARNER_ARGS))
        if unknown: raise TypeError(f'audio_learner with a ready nn.Module takes only Learner arguments; got {unknown}')
        learn = AudioLearner(dls, adapt_first_conv(arch, n_in), loss_func=loss_func, metrics=metrics, **kwargs)
    else:
        if pretrained: kwargs = check_and_locate(arch, kwargs)      # offline: one clear error, at once
        try:
            learn = vision_learner(dls, arch, n_in=n_in, pretrained=pretrained, normalize=False, loss_func=loss_func,
                                   metrics=metrics, **kwargs)
        except OSError as e:                                         # URLError, the hub's errors...
            err = download_failed(arch, e) if pretrained and not isinstance(e, PretrainedWeightsError) else None
            if err is None: raise
            raise err from e
        learn.__class__ = AudioLearner          # a Learner subclass adding no state: predict on any length
        if callable(arch) and not isinstance(arch, str): learn.model.arch_name = arch.__name__   # for export
    return _speed_options(learn, mixed_precision, channels_last, compile)


_LEARNER_ARGS = ('opt_func', 'lr', 'splitter', 'cbs', 'path', 'model_dir', 'wd', 'wd_bn_bias', 'train_bn', 'moms')


@delegates(audio_learner)
def create_cnn(data, arch, **kwargs) -> Learner:
    "The classic name for `audio_learner(data, arch, ...)`."
    return audio_learner(data, arch, **kwargs)


# --------------------------------------------------------------------------- displays
def _show_input(s, ax, **kwargs):
    s.show(ctx=ax, **({'player': False} if isinstance(s, AudioTensor) else {}), **kwargs)


def _label_text(o) -> str:
    "A label for a title: the class name, or a multi-label's names joined by ';' ('-' for none)."
    if isinstance(o, MultiCategory): return ';'.join(map(str, o)) or '-'
    return str(o)


def _same_labels(pred, actual) -> bool:
    if isinstance(pred, MultiCategory): return set(map(str, pred)) == set(map(str, actual))
    return isinstance(pred, Category) and str(pred) == str(actual)


@dispatch
def show_results(x: AudioSpectrogram, y, samples, outs, ctxs=None, max_n=9, nrows=None, ncols=None, figsize=None,
                 **kwargs):
    if ctxs is None: ctxs = get_grid(min(len(samples), max_n), nrows=nrows, ncols=ncols, figsize=figsize,
                                     title='actual / predicted')
    for s, o, ax, _ in zip(samples, outs, ctxs, range(max_n)):
        _show_input(s[0], ax, **kwargs)
        ax.set_title(f'{_label_text(s[1])}\n{_label_text(o[0])}', color='green' if _same_labels(o[0], s[1]) else 'red')
    return tidy_grid(ctxs[:min(len(samples), max_n)])


@dispatch
def plot_top_losses(x: AudioSpectrogram, y, samples, outs, raws, losses, nrows=None, ncols=None, figsize=None,
                    **kwargs):
    multi = len(outs) > 0 and isinstance(outs[0][0], MultiCategory)
    axs = get_grid(len(samples), nrows=nrows, ncols=ncols, figsize=figsize,
                   title='predicted / actual / loss' + ('' if multi else ' / probability'))
    for ax, s, o, r, l in zip(axs, samples, outs, raws, losses):
        _show_input(s[0], ax, **kwargs)
        title = f'{_label_text(o[0])} / {_label_text(s[1])} / {l.item():.2f}'
        ax.set_title(title if multi else f'{title} / {r.max().item():.2f}', fontsize='small' if multi else None)
    return tidy_grid(axs)


# --------------------------------------------------------------------------- interpretation
class MultiLabelInterpretation(Interpretation):
    """Interpretation of a multi-label learner: `per_class` (a table of support, precision, recall, F1 at a
    threshold and average precision for each label), `plot_per_class`, and, inherited, `plot_top_losses`.
    Build it as fastai's: `MultiLabelInterpretation.from_learner(learn)`."""

    def per_class(self, thresh: float = 0.5, sort_by: str | None = 'ap'):
        """A DataFrame with one row per label: support (true clips), predicted (clips over `thresh`), precision,
        recall, f1 at `thresh` (on the activated scores) and ap (threshold-free average precision)."""
        import pandas as pd
        probs, targs = self.probs_targs
        probs, targs = probs.float(), targs.bool()
        pred = probs > thresh
        tp = (pred & targs).sum(0).float()
        support, predicted = targs.sum(0), pred.sum(0)
        precision = tp / predicted.clamp_min(1)
        recall = tp / support.clamp_min(1)
        f1 = 2 * precision * recall / (precision + recall).clamp_min(1e-12)
        df = pd.DataFrame(dict(label=list(map(str, self.vocab)), support=support.numpy(), predicted=predicted.numpy(),
                               precision=precision.numpy(), recall=recall.numpy(), f1=f1.numpy(),
                               ap=average_precision(probs, targs).numpy()))
        return df.sort_values(sort_by, ascending=False, ignore_index=True) if sort_by else df

    @property
    def vocab(self): return self.dl.vocab

    @property
    def probs_targs(self):
        "Activated predictions and targets of `dl`, computed once."
        if not hasattr(self, '_probs_targs'): self._probs_targs = self.learn.get_preds(dl=self.dl, act=self.act)
        return self._probs_targs

    def plot_per_class(self, thresh: float = 0.5, figsize=None):
        "Bars of each label's average precision, with its F1 at `thresh` marked; worst labels at the bottom."
        import matplotlib.pyplot as plt
        df = self.per_class(thresh).iloc[::-1]
        fig, ax = plt.subplots(figsize=figsize or (6, max(2.5, 0.3 * len(df))))
        ax.barh(df.label, df.ap, color='tab:blue', label='average precision')
        ax.plot(df.f1, df.label, 'o', color='tab:orange', label=f'F1 at {thresh}')
        ax.set_xlim(0, 1)
        ax.set_xlabel('score')
        ax.legend(loc='lower center', bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize='small', frameon=False)  # above: covers no bar
        return ax
