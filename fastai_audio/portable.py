"""Waveform-in models that load without fastai and without pickle.

This file imports only torch and safetensors (and torchvision or timm when it rebuilds a network from its
name), never fastai or the rest of fastai_audio: copy it next to a folder written by
`fastai_audio.export_waveform_model` and

    model = load_waveform_model('tagger/')          # model.safetensors + config.json
    probs = model(torch.from_numpy(wave))           # 1-D float waveform at model.sample_rate -> (n_classes,)

`LogMelFrontEnd` is the learner's log-mel front end in plain torch (the STFT is a strided convolution with a
windowed DFT basis, which TorchScript and ONNX both run); its basis and mel filters are buffers, so they travel
in the safetensors file. `WaveformClassifier` adds the sliding windows and their aggregation.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ['LogMelFrontEnd', 'frame_signal', 'WaveformClassifier', 'ConcatPool', 'build_network', 'load_waveform_model']


class LogMelFrontEnd(nn.Module):
    """Waveforms `(batch, samples)` -> normalised log-mel spectrograms `(batch, 1, n_mels, frames)`, the same
    numbers as fastai_audio's `MelSpectrogram` -> `AmplitudeToDB` -> `SpecNormalize` configured alike.

    settings : dict with n_fft, hop_length, n_mels, power (1 or 2), center, pad_mode, ref ('max' or a number),
        amin (None: 1e-10 for power, 1e-5 for magnitude), top_db (None: no clip), normalize (None, 'example' or
        [mean, std]); other keys (sample_rate, f_min...) are kept for reference.
    basis : conv1d weights `(2 * (n_fft // 2 + 1), 1, n_fft)`: cosine then minus-sine rows times the window.
    fbank : mel filters `(n_mels, n_fft // 2 + 1)`. Both default to zeros, to be filled by `load_state_dict`.
    """
    def __init__(self, settings: dict, basis: torch.Tensor | None = None, fbank: torch.Tensor | None = None):
        super().__init__()
        s = self.settings = dict(settings)
        bins = s['n_fft'] // 2 + 1
        self.register_buffer('basis', torch.zeros(2 * bins, 1, s['n_fft']) if basis is None else basis.float())
        self.register_buffer('fbank', torch.zeros(s['n_mels'], bins) if fbank is None else fbank.float())
        self.n_fft, self.hop, self.center = int(s['n_fft']), int(s['hop_length']), bool(s['center'])
        self.reflect = s['pad_mode'] == 'reflect'
        self.magnitude = float(s['power']) == 1.0
        self.mult = 20.0 if self.magnitude else 10.0
        self.amin = float(s['amin'] if s.get('amin') is not None else (1e-5 if self.magnitude else 1e-10))
        self.ref_max = s['ref'] == 'max'
        self.ref_db = 0.0 if self.ref_max else self.mult * math.log10(max(self.amin, abs(float(s['ref']))))
        self.clip = s['top_db'] is not None
        self.top_db = float(s['top_db'] or 0.0)
        norm = s['normalize']
        self.per_example = norm == 'example'
        self.fixed_norm = isinstance(norm, (list, tuple))
        self.mean, self.std = (float(norm[0]), float(norm[1])) if self.fixed_norm else (0.0, 1.0)
        self.eps = 1e-6

    @staticmethod
    def dft_basis(n_fft: int, window: torch.Tensor) -> torch.Tensor:
        "The `basis` for a window of `n_fft` samples (a shorter window zero-padded at the centre), in float64."
        left = (n_fft - window.shape[0]) // 2
        window = F.pad(window.double(), (left, n_fft - window.shape[0] - left))
        k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
        ang = 2 * math.pi * k * torch.arange(n_fft, dtype=torch.float64)[None] / n_fft
        return torch.cat([torch.cos(ang) * window, -torch.sin(ang) * window])[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(1)
        if self.center:
            half = self.n_fft // 2
            x = F.pad(x, (half, half), mode='reflect') if self.reflect else F.pad(x, (half, half))
        re, im = F.conv1d(x, self.basis, stride=self.hop).chunk(2, dim=1)   # (batch, bins, frames) each
        spec = re * re + im * im
        if self.magnitude: spec = spec.sqrt()
        db = self.mult * torch.log10(torch.clamp(torch.matmul(self.fbank, spec), min=self.amin))
        if self.ref_max: db = db - db.amax(dim=(1, 2), keepdim=True)
        else: db = db - self.ref_db
        if self.clip: db = torch.maximum(db, db.amax(dim=(1, 2), keepdim=True) - self.top_db)
        if self.per_example:
            db = (db - db.mean(dim=(1, 2), keepdim=True)) / (db.std(dim=(1, 2), keepdim=True) + self.eps)
        elif self.fixed_norm: db = (db - self.mean) / (self.std + self.eps)
        return db.unsqueeze(1)


def frame_signal(wave: torch.Tensor, size: int, step: int, repeat: bool = False) -> torch.Tensor:
    """Windows `(n_windows, size)` of `wave` `(samples,)`, starting every `step` samples while they fit, plus one
    flush with the end if the last stops short (the starts of fastai_audio's `window_starts`). A signal shorter
    than `size` gives one window, zero-padded (or looped if `repeat`). Branch-free, so it exports to ONNX."""
    n = wave.shape[0]
    if repeat: wave = wave[torch.arange(max(n, size), device=wave.device) % n]
    else: wave = F.pad(wave, (0, max(0, size - n)))
    last = wave.shape[0] - size
    count = 1 + (last + step - 1) // step
    starts = torch.clamp(torch.arange(count, device=wave.device) * step, max=last)
    return wave[starts[:, None] + torch.arange(size, device=wave.device)[None]]


class WaveformClassifier(nn.Module):
    """One waveform `(samples,)` at `sample_rate` -> class probabilities `(n_classes,)`.

    The clip is cut into windows of `window` samples every `hop` samples (the last one flush with the end; a
    shorter clip padded with zeros, or looped if `repeat`), each window goes through `front_end` and `net`,
    then softmax (sigmoid if `multi_label`), and the mean (max if `agg_max`) over the windows.
    `window_probs(wave)` gives the per-window probabilities `(n_windows, n_classes)`.
    """
    def __init__(self, front_end: nn.Module, net: nn.Module, sample_rate: int, window: int, hop: int,
                 multi_label: bool = False, agg_max: bool = False, repeat: bool = False):
        super().__init__()
        self.front_end, self.net = front_end, net
        self.sample_rate, self.window, self.hop = int(sample_rate), int(window), int(hop)
        self.multi_label, self.agg_max, self.repeat = bool(multi_label), bool(agg_max), bool(repeat)

    def windows(self, wave: torch.Tensor) -> torch.Tensor:
        "`(n_windows, window)` cut from `wave` `(samples,)` by `frame_signal`."
        return frame_signal(wave, self.window, self.hop, self.repeat)

    def window_probs(self, wave: torch.Tensor) -> torch.Tensor:
        logits = self.net(self.front_end(self.windows(wave)))
        return torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        p = self.window_probs(wave)
        return p.amax(dim=0) if self.agg_max else p.mean(dim=0)


# --------------------------------------------------------------------------- rebuilding the network
class ConcatPool(nn.Module):
    "Adaptive max and average pooling to `size`, concatenated along channels (max first, as fastai's head)."
    def __init__(self, size: int = 1):
        super().__init__()
        self.size = size

    def forward(self, x):
        return torch.cat([F.adaptive_max_pool2d(x, self.size), F.adaptive_avg_pool2d(x, self.size)], 1)


class _TimmBody(nn.Module):
    "A timm model without classifier, keyed `model.*` (the layout fastai's `TimmBody` gives)."
    def __init__(self, model, needs_pool: bool):
        super().__init__()
        self.model, self.needs_pool = model, needs_pool

    def forward(self, x): return self.model.forward_features(x) if self.needs_pool else self.model(x)


def _layer(d: dict) -> nn.Module:
    t = d['type']
    if t == 'ConcatPool': return ConcatPool(d.get('size', 1))
    if t == 'AvgPool': return nn.AdaptiveAvgPool2d(d.get('size', 1))
    if t == 'Flatten': return nn.Flatten()
    if t == 'BatchNorm1d': return nn.BatchNorm1d(d['num_features'], eps=d['eps'], momentum=d['momentum'])
    if t == 'Dropout': return nn.Dropout(d['p'])
    if t == 'Linear': return nn.Linear(d['in_features'], d['out_features'], bias=d['bias'])
    if t == 'ReLU': return nn.ReLU()
    raise ValueError(f'cannot rebuild a head layer of type {t!r}')


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


def build_network(arch: dict) -> nn.Module:
    """An untrained network with the layout (and so the state-dict keys) described by `arch`:
    {'source': 'torchvision' | 'timm', 'name', 'n_in', 'body_children' (torchvision: children kept),
    'needs_pool' (timm), 'head': [layer dicts]} -> `nn.Sequential(body, head)`."""
    if arch['source'] == 'torchvision':
        import torchvision
        full = getattr(torchvision.models, arch['name'])(weights=None)
        _set_input_channels(full, arch['n_in'])
        body = nn.Sequential(*list(full.children())[:arch['body_children']])
    elif arch['source'] == 'timm':
        import timm
        body = _TimmBody(timm.create_model(arch['name'], pretrained=False, num_classes=0, in_chans=arch['n_in']),
                         arch['needs_pool'])
    else: raise ValueError(f"unknown network source {arch['source']!r}")
    return nn.Sequential(body, nn.Sequential(*[_layer(d) for d in arch['head']]))


def load_waveform_model(path, net: nn.Module | None = None) -> WaveformClassifier:
    """The `WaveformClassifier` in folder `path` (model.safetensors + config.json), in eval mode. The network is
    rebuilt from the config's `arch` unless `net` (the same architecture, any weights) is given; every weight
    must match (`strict=True`)."""
    from safetensors.torch import load_file
    path = Path(path)
    cfg = json.loads((path / 'config.json').read_text())
    if cfg.get('kind') == 'embedding':
        raise ValueError(f'{path} holds an embedder + head model: load model.ts or model.onnx, or build the '
                         'EmbeddingClassifier and load_state_dict(model.safetensors)')
    if net is None:
        if not cfg.get('arch'): raise ValueError(f'{path / "config.json"} does not say how to rebuild the network: pass net=')
        net = build_network(cfg['arch'])
    sr = cfg['sample_rate']
    model = WaveformClassifier(LogMelFrontEnd(cfg['front_end']), net, sr, int(round(cfg['window_seconds'] * sr)),
                               max(1, int(round(cfg['hop_seconds'] * sr))), cfg['multi_label'], cfg['agg'] == 'max',
                               cfg['repeat'])
    model.load_state_dict(load_file(str(path / 'model.safetensors')), strict=True)
    model.config = cfg
    model.classes = cfg['classes']
    return model.eval()
