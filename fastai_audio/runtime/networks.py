"""Describing a trained network as plain data and the layers that rebuild it, in torch alone.

`describe_network` turns a network that `audio_learner` built (a torchvision or timm body with a fastai head, or a
backbone of the audio-model registry) into a JSON-ready dict; `serving.classifier.build_network` (and
`backbones.sed.build_frame_classifier` for frame classifiers) rebuild it from that dict without fastai, with the
layers here: `ConcatPool` (fastai's concatenated max + average pooling), the timm body wrapper, the head layers
recognised by type, and `torchvision_body` (a torchvision body whose first convolution takes `n_in` channels).
`first_conv` is the one rule for "the network's input convolution" (the first `nn.Conv2d` in `modules()` order),
read by the learner that adapts it to the audio's channels, by the describe / rebuild pair and by the SED heads.

This module imports only torch (torchvision when a torchvision body is rebuilt), never fastai or timm.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ['describe_network', 'ConcatPool']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('TimmFeatureBody', 'build_head_layer', 'torchvision_body', 'conv_with_inputs', 'first_conv')

# =========================================================================== describing and rebuilding networks
class ConcatPool(nn.Module):
    """Adaptive max and average pooling to `size`, concatenated along channels (max first, as fastai's head).

    Maps `(batch, channels, height, width)` to `(batch, 2 * channels, size, size)`.

    Parameters
    ----------
    size : int
        Output height and width (default 1).
    """
    def __init__(self, size: int = 1):
        super().__init__()
        self.size = size

    def forward(self, x):
        return torch.cat([F.adaptive_max_pool2d(x, self.size), F.adaptive_avg_pool2d(x, self.size)], 1)


class TimmFeatureBody(nn.Module):
    "A timm model without classifier, keyed `model.*` (the layout fastai's `TimmBody` gives)."
    def __init__(self, model, needs_pool: bool):
        super().__init__()
        self.model, self.needs_pool = model, needs_pool

    def forward(self, x): return self.model.forward_features(x) if self.needs_pool else self.model(x)


def _head_layer(m: nn.Module) -> dict | None:
    name = type(m).__name__
    if name in ('AdaptiveConcatPool2d', 'ConcatPool'): return dict(type='ConcatPool', size=m.size)
    if isinstance(m, nn.AdaptiveAvgPool2d): return dict(type='AvgPool', size=m.output_size)
    if name == 'Flatten' or isinstance(m, nn.Flatten): return dict(type='Flatten')
    if isinstance(m, nn.BatchNorm1d): return dict(type='BatchNorm1d', num_features=m.num_features, eps=m.eps,
                                                  momentum=m.momentum)
    if isinstance(m, nn.Dropout): return dict(type='Dropout', p=m.p)
    if isinstance(m, nn.Linear): return dict(type='Linear', in_features=m.in_features, out_features=m.out_features,
                                             bias=m.bias is not None)
    if isinstance(m, nn.ReLU): return dict(type='ReLU')
    return None


def build_head_layer(d: dict) -> nn.Module:
    "The head layer a description `d` of `describe_network`'s `head` list stands for (a ValueError for an unknown type)."
    t = d['type']
    if t == 'ConcatPool': return ConcatPool(d.get('size', 1))
    if t == 'AvgPool': return nn.AdaptiveAvgPool2d(d.get('size', 1))
    if t == 'Flatten': return nn.Flatten()
    if t == 'BatchNorm1d': return nn.BatchNorm1d(d['num_features'], eps=d['eps'], momentum=d['momentum'])
    if t == 'Dropout': return nn.Dropout(d['p'])
    if t == 'Linear': return nn.Linear(d['in_features'], d['out_features'], bias=d['bias'])
    if t == 'ReLU': return nn.ReLU()
    raise ValueError(f'cannot rebuild a head layer of type {t!r}')


def describe_network(model: nn.Module, arch_name: str | None = None) -> dict | None:
    """How `build_network` rebuilds `model`, as a JSON-ready dict.

    Needs neither fastai nor timm: the layers are recognised by type.

    Parameters
    ----------
    model : nn.Module
        A torchvision body or a timm body with a fastai head, as `audio_learner` builds them, or a backbone of the
        audio-model registry (which records its name in `audio_model_name`).
    arch_name : str, optional
        The torchvision architecture's name (e.g. 'resnet18'), needed for a torchvision body (default None).

    Returns
    -------
    dict or None
        The description (`source` 'torchvision', 'timm' or 'audio_model', and what that source needs), or None
        for a network it cannot describe (load it then with `net=`).
    """
    name = getattr(model, 'audio_model_name', None)
    if isinstance(name, str):
        return dict(source='audio_model', name=name, n_out=int(model.head[-1].out_features),
                    **getattr(model, 'audio_model_kwargs', {}))
    if not (isinstance(model, nn.Sequential) and len(model) == 2 and isinstance(model[1], nn.Sequential)): return None
    head = [_head_layer(m) for m in model[1]]
    if any(h is None for h in head): return None
    body = model[0]
    first = first_conv(body)[2]
    if first is None: return None
    if type(body).__name__ in ('TimmBody', 'TimmFeatureBody'):
        cfg = getattr(body.model, 'pretrained_cfg', None) or getattr(body.model, 'default_cfg', {})
        return dict(source='timm', name=cfg['architecture'], n_in=first.in_channels, needs_pool=bool(body.needs_pool),
                    head=head)
    if arch_name is None: return None
    return dict(source='torchvision', name=arch_name, n_in=first.in_channels, body_children=len(body), head=head)


def first_conv(model: nn.Module) -> tuple[nn.Module | None, str | None, nn.Conv2d | None]:
    """`(parent, name, conv)`: the first `nn.Conv2d` of `model` in `model.modules()` order (depth first, children
    in the order they were set: the input convolution of torchvision, timm and PANNs networks), with the module
    holding it and its attribute name there, so `setattr(parent, name, new)` replaces it; `(None, None, None)`
    when `model` has none, and `(None, '', model)` when `model` is itself one. The package's one rule for it."""
    for qualified, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            if not qualified: return None, '', m
            parent, _, name = qualified.rpartition('.')
            return model.get_submodule(parent), name, m
    return None, None, None


def conv_with_inputs(conv: nn.Conv2d, n_in: int) -> nn.Conv2d:
    """A new, untrained convolution as `conv` but taking `n_in` channels: of `conv`'s own class (timm's
    TensorFlow-'same' `Conv2dSame` stays one), with its sizes, stride, padding, groups and bias."""
    new = copy.copy(conv)
    new._parameters, new._buffers, new._modules = dict(conv._parameters), dict(conv._buffers), dict(conv._modules)
    new.in_channels = n_in
    new.weight = nn.Parameter(torch.empty(conv.out_channels, n_in // conv.groups, *conv.kernel_size,
                                          dtype=conv.weight.dtype, device=conv.weight.device))
    if conv.bias is not None: new.bias = nn.Parameter(conv.bias.detach().clone())
    new.reset_parameters()
    return new


def _set_input_channels(model: nn.Module, n_in: int):
    "Replace the `first_conv` by one with `n_in` input channels (weights come from the checkpoint)."
    parent, name, conv = first_conv(model)
    if parent is not None and conv.in_channels != n_in: setattr(parent, name, conv_with_inputs(conv, n_in))


def torchvision_body(name: str, n_in: int, body_children: int) -> nn.Sequential:
    """The first children of an untrained torchvision architecture, its first convolution taking `n_in` channels.

    Parameters
    ----------
    name : str
        The architecture in `torchvision.models`, e.g. 'resnet18'.
    n_in : int
        Input channels of the first convolution.
    body_children : int
        How many of the network's children to keep.

    Returns
    -------
    nn.Sequential
        The body, weights untrained (they come from the checkpoint).
    """
    import torchvision
    full = getattr(torchvision.models, name)(weights=None)
    _set_input_channels(full, n_in)
    return nn.Sequential(*list(full.children())[:body_children])
