"""What the model hears, in torch alone: the front-end description, its kernels, and the waveform-in model.

This module imports only torch, numpy, safetensors and the standard library (never fastai, never the rest of
fastai_audio), so it serves a model where fastai is absent: copy this one file next to a folder written by
`fastai_audio.export_waveform_model` and

    from frontend import load_waveform_model
    model = load_waveform_model('tagger/')          # model.safetensors + config.json
    probs = model(torch.from_numpy(wave))           # 1-D float waveform at model.sample_rate -> (n_classes,)

It holds, each written once and read by training, prediction, export, embeddings and the backbones:

- `FrontEnd`: a frozen, typed description of how waveforms become the network's input (rate, channels,
  STFT geometry, linear / mel / MFCC, power, mel band, dB, normalisation), with `to_dict` / `from_dict`.
- the kernels, pure functions on `(..., time)` waveforms and `(..., freq, frames)` spectrograms: window, edge
  padding, STFT (`torch.stft` for training, the DFT-basis convolution where a graph must export; equal),
  power, mel filterbank, DCT, dB, two-pass statistics and normalisation, and framing (seconds to samples,
  window starts with the last window flush with the end, padding a short clip).
- `FrontEndModule`: a `FrontEnd` as an exportable `nn.Module` over those kernels.
- `WaveformClassifier`, `AudioModelSpec` (everything a trained model needs to be used), the network
  describe / rebuild pair (`describe_network`, `build_network`) and `load_waveform_model`.

Configured alike (center=True, pad_mode='constant', periodic Hann window, Slaney mel scale and norm, power 2)
the kernels match `librosa.stft`, `librosa.feature.melspectrogram`, `librosa.power_to_db` and
`librosa.feature.mfcc`.
"""
from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

__all__ = ['describe_network', 'ConcatPool']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('TimmFeatureBody', 'build_head_layer', 'torchvision_body')

# =========================================================================== describing and rebuilding networks
class ConcatPool(nn.Module):
    "Adaptive max and average pooling to `size`, concatenated along channels (max first, as fastai's head)."
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
    """How `build_network` rebuilds `model` (a torchvision body named `arch_name`, or a timm body, with a
    fastai head, as `audio_learner` builds them; or a backbone of the audio-model registry, which records its
    name in `audio_model_name`), or None for a network it cannot describe (load it then with `net=`). Needs
    neither fastai nor timm: the layers are recognised by type."""
    name = getattr(model, 'audio_model_name', None)
    if isinstance(name, str):
        return dict(source='audio_model', name=name, n_out=int(model.head[-1].out_features),
                    **getattr(model, 'audio_model_kwargs', {}))
    if not (isinstance(model, nn.Sequential) and len(model) == 2 and isinstance(model[1], nn.Sequential)): return None
    head = [_head_layer(m) for m in model[1]]
    if any(h is None for h in head): return None
    body = model[0]
    first = next((m for m in body.modules() if isinstance(m, nn.Conv2d)), None)
    if first is None: return None
    if type(body).__name__ in ('TimmBody', 'TimmFeatureBody'):
        cfg = getattr(body.model, 'pretrained_cfg', None) or getattr(body.model, 'default_cfg', {})
        return dict(source='timm', name=cfg['architecture'], n_in=first.in_channels, needs_pool=bool(body.needs_pool),
                    head=head)
    if arch_name is None: return None
    return dict(source='torchvision', name=arch_name, n_in=first.in_channels, body_children=len(body), head=head)


def _set_input_channels(model: nn.Module, n_in: int):
    "Replace the first `nn.Conv2d` by one with `n_in` input channels (weights come from the checkpoint)."
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Conv2d):
                if child.in_channels != n_in:
                    setattr(parent, name, nn.Conv2d(n_in, child.out_channels, child.kernel_size, child.stride,
                                                    child.padding, child.dilation, child.groups,
                                                    child.bias is not None, child.padding_mode))
                return


def torchvision_body(name: str, n_in: int, body_children: int) -> nn.Sequential:
    "The first `body_children` children of torchvision's `name` (untrained), its first convolution taking `n_in` channels."
    import torchvision
    full = getattr(torchvision.models, name)(weights=None)
    _set_input_channels(full, n_in)
    return nn.Sequential(*list(full.children())[:body_children])
