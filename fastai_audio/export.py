"""A trained learner as one waveform-in module, saved in formats that load without fastai or pickle.

`WaveformClassifier` takes a 1-D float waveform at a stated sample rate and returns class probabilities:
the learner's log-mel front end, its network, and the sliding-window aggregation of `AudioLearner.predict`,
all in plain torch (the STFT is a strided convolution with a DFT basis, so TorchScript and ONNX both run it).

    export_waveform_model(learn, 'tagger/')    # model.safetensors + config.json, model.ts, model.onnx
    model = load_waveform_model('tagger/')     # or torch.jit.load('tagger/model.ts'), or onnxruntime

fastai's `learn.export()` writes a pickle, which runs code when loaded. safetensors holds only tensors, and
config.json the class names, the front-end settings and how to rebuild the network; TorchScript and ONNX hold
their own graph.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .data import audio_loader_of, is_multi_label
from .features import AmplitudeToDB, MelSpectrogram, MFCC, SpecNormalize, Spectrogram, mel_filterbank
from .portable import LogMelFrontEnd, WaveformClassifier, load_waveform_model
from .windows import _crop_of, _default_window

__all__ = ['log_mel_front_end', 'waveform_model', 'export_waveform_model', 'save_waveform_model', 'load_waveform_model', 'arch_config']


# --------------------------------------------------------------------------- from a learner
def _front_end_settings(learn) -> dict:
    "The settings of the learner's batch front end, checked to be the supported MelSpectrogram -> dB -> normalise."
    fs = [t for t in learn.dls.after_batch.fs if isinstance(t, (Spectrogram, AmplitudeToDB, SpecNormalize))]
    mel = next((t for t in fs if isinstance(t, MelSpectrogram)), None)
    if mel is None or isinstance(mel, MFCC) or any(type(t) is Spectrogram for t in fs):
        raise NotImplementedError('export supports a MelSpectrogram -> AmplitudeToDB -> SpecNormalize front end; '
                                  f'this learner has {[type(t).__name__ for t in fs]}')
    db = next((t for t in fs if isinstance(t, AmplitudeToDB)), None)
    if db is None: raise NotImplementedError('export needs an AmplitudeToDB after the MelSpectrogram')
    norm = next((t for t in fs if isinstance(t, SpecNormalize)), None)
    loader = audio_loader_of(learn.dls.valid_ds)
    sr = mel.sample_rate or (loader.sr if loader else None)
    if sr is None: raise ValueError('cannot tell the sample rate: give MelSpectrogram(sample_rate=...) or AudioBlock(sr=...)')
    normalize = None if norm is None else ('example' if norm.per_example else [norm.mean, norm.std])
    return dict(sample_rate=int(sr), n_fft=mel.n_fft, hop_length=mel.hop_length, win_length=mel.win_length,
                n_mels=mel.n_mels, f_min=mel.f_min, f_max=mel.f_max, htk=mel.htk, mel_norm=mel.norm, power=mel.power,
                center=mel.center, pad_mode=mel.pad_mode, ref=db.ref, amin=db.amin, top_db=db.top_db,
                normalize=normalize)


def log_mel_front_end(learn) -> LogMelFrontEnd:
    "The learner's batch front end (waveforms -> normalised log-mels) as a plain-torch `LogMelFrontEnd`."
    st = _front_end_settings(learn)
    basis = LogMelFrontEnd.dft_basis(st['n_fft'], torch.hann_window(st['win_length'], periodic=True, dtype=torch.float64))
    fbank = torch.as_tensor(mel_filterbank(st['sample_rate'], st['n_fft'], st['n_mels'], st['f_min'], st['f_max'],
                                           st['htk'], st['mel_norm'], np.float64))
    return LogMelFrontEnd(st, basis, fbank)


def waveform_model(learn, window: float | None = None, hop: float | None = None, agg: str = 'mean') -> WaveformClassifier:
    """`learn` as a `WaveformClassifier` (eval mode, on the CPU, with a copy of the network, so the learner is
    left as it was): its front end, network and windows (default: the loaders' crop duration, hop half of it),
    aggregated by `agg` ('mean' or 'max') as `learn.predict`."""
    import copy
    if agg not in ('mean', 'max'): raise ValueError(f"agg must be 'mean' or 'max', got {agg!r}")
    front = log_mel_front_end(learn)
    st = front.settings
    crop = _crop_of(learn.dls.valid)
    window = _default_window(learn.dls.valid, window)
    if window is None: raise ValueError('give `window` (seconds): these loaders do not crop to a fixed duration')
    hop = window / 2 if hop is None else hop
    sr = st['sample_rate']
    net = copy.deepcopy(learn.model).eval().cpu()
    model = WaveformClassifier(front, net, sr, int(round(window * sr)), max(1, int(round(hop * sr))),
                               multi_label=is_multi_label(learn.dls), agg_max=agg == 'max',
                               repeat=getattr(crop, 'pad', 'zeros') == 'repeat')
    model.config = dict(front_end=st, sample_rate=sr, window_seconds=window, hop_seconds=hop, agg=agg,
                        multi_label=model.multi_label, repeat=model.repeat, classes=[str(v) for v in learn.dls.vocab],
                        arch=arch_config(learn.model))
    return model.eval()


def export_waveform_model(learn, path, window: float | None = None, hop: float | None = None, agg: str = 'mean',
                          formats=('safetensors', 'torchscript', 'onnx')) -> Path:
    """Write `learn` as a waveform-in model to folder `path`: config.json (classes, front end, windows, how to
    rebuild the network) with model.safetensors, model.ts (TorchScript) and model.onnx (opset 18, any input
    length), as chosen in `formats`. Returns `path`. Load with `load_waveform_model(path)` (safetensors, no
    pickle), `torch.jit.load(path / 'model.ts')` or onnxruntime (input 'waveform', output 'probabilities')."""
    model = waveform_model(learn, window, hop, agg)
    x = model.front_end(model.windows(torch.zeros(model.window * 2)))
    return save_waveform_model(model, path, model.config, formats, traced={'net': x})


def save_waveform_model(model: nn.Module, path, config: dict, formats=('safetensors', 'torchscript', 'onnx'),
                        traced: dict | None = None) -> Path:
    """Save any waveform-in module (`(samples,)` -> `(n_classes,)`) to folder `path` as config.json plus the
    chosen `formats`. `traced` {submodule name: example input}: submodules to trace rather than script for
    TorchScript (networks whose code TorchScript cannot compile; their batch size stays free)."""
    from safetensors.torch import save_file
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / 'config.json').write_text(json.dumps(config, indent=1))
    if 'safetensors' in formats:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path / 'model.safetensors'))
    if 'torchscript' in formats: _to_torchscript(model, traced or {}).save(str(path / 'model.ts'))
    if 'onnx' in formats:
        length = torch.export.Dim('samples', min=2, max=2 ** 31 - 1)
        torch.onnx.export(model, (torch.zeros(model.sample_rate * 2),), str(path / 'model.onnx'),
                          input_names=['waveform'], output_names=['probabilities'], dynamic_shapes=({0: length},),
                          dynamo=True, opset_version=18, external_data=False, verbose=False)   # one file
    _readable_by_all(path)
    return path


def _readable_by_all(folder: Path):
    """Give the exported files the mode a new file gets under the umask (0644 under the usual 022): safetensors
    writes through a private (0600) temporary file, and the folder is meant to be shared."""
    mask = os.umask(0)
    os.umask(mask)
    for f in folder.iterdir():
        if f.is_file(): f.chmod(0o666 & ~mask)


def _to_torchscript(model: nn.Module, traced: dict):
    "Script `model` after tracing the submodules named in `traced` on their example inputs."
    import copy
    import warnings
    m = copy.deepcopy(model).eval()
    with warnings.catch_warnings():              # torch >= 2.10 marks TorchScript deprecated; it still loads anywhere
        warnings.simplefilter('ignore', FutureWarning)
        for name, x in traced.items():
            parent, _, attr = name.rpartition('.')
            owner = m.get_submodule(parent) if parent else m
            with torch.no_grad(): setattr(owner, attr, torch.jit.trace(getattr(owner, attr), x, check_trace=False))
        return torch.jit.script(m)


def _head_layer(m: nn.Module) -> dict | None:
    name = type(m).__name__
    if name == 'AdaptiveConcatPool2d': return dict(type='ConcatPool', size=m.size)
    if isinstance(m, nn.AdaptiveAvgPool2d): return dict(type='AvgPool', size=m.output_size)
    if name == 'Flatten' or isinstance(m, nn.Flatten): return dict(type='Flatten')
    if isinstance(m, nn.BatchNorm1d): return dict(type='BatchNorm1d', num_features=m.num_features, eps=m.eps,
                                                  momentum=m.momentum)
    if isinstance(m, nn.Dropout): return dict(type='Dropout', p=m.p)
    if isinstance(m, nn.Linear): return dict(type='Linear', in_features=m.in_features, out_features=m.out_features,
                                             bias=m.bias is not None)
    if isinstance(m, nn.ReLU): return dict(type='ReLU')
    return None


def arch_config(model: nn.Module) -> dict | None:
    """How `portable.build_network` rebuilds `model` (as `audio_learner` built it from a torchvision or timm
    name), or None for a network it cannot describe (load it then with `net=`)."""
    if not (isinstance(model, nn.Sequential) and len(model) == 2 and isinstance(model[1], nn.Sequential)): return None
    head = [_head_layer(m) for m in model[1]]
    if any(h is None for h in head): return None
    body = model[0]
    first = next((m for m in body.modules() if isinstance(m, nn.Conv2d)), None)
    if first is None: return None
    if type(body).__name__ == 'TimmBody':
        return dict(source='timm', name=body.model.default_cfg.get('architecture') or body.model.pretrained_cfg['architecture'],
                    n_in=first.in_channels, needs_pool=bool(body.needs_pool), head=head)
    name = getattr(model, 'arch_name', None)
    if name is None: return None
    return dict(source='torchvision', name=name, n_in=first.in_channels, body_children=len(body), head=head)
