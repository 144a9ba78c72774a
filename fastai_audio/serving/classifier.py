"""The clip classifier served: `AudioModelSpec` (everything a trained model needs to be used: the exported
config of kind 'classifier'), `WaveformClassifier` (waveform in, class probabilities out, in plain torch) and
the network rebuilder `build_network` (`runtime.networks.describe_network` writes what it reads).

    from fastai_audio.serving import load_exported
    model = load_exported('tagger/')                   # config.json + model.safetensors, torch alone
    probs = model(torch.from_numpy(wave))           # 1-D float waveform at model.sample_rate -> (n_classes,)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn
from ..backbones.registry import create_audio_model
from ..runtime.frontend import FrontEnd, FrontEndModule
from ..runtime.networks import TimmFeatureBody, build_head_layer, torchvision_body
from ..runtime.functional import aggregate_windows, frame_signal, seconds_to_samples
from ..runtime.arguments import renamed_parameters
from .config import config_version, record_fields, served_dict

__all__ = ['AudioModelSpec', 'WaveformClassifier', 'build_network']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('waveform_classifier',)

# =========================================================================== the served model
@dataclass(frozen=True)
class AudioModelSpec:
    """Everything a trained model needs to be used, the served config of a clip classifier.

    Built once by `audio_learner` from the DataLoaders, read by `predict`, sliding windows, export, embeddings,
    `Checkpoint` and the CLI; `config.json` of an exported clip classifier is its `to_dict()` (kind
    'classifier', see `serving.config`). `replace(**changes)` gives a checked copy.

    Parameters
    ----------
    front_end : FrontEnd
        What the network hears.
    classes : sequence of str
        Class names, in the network's output order (kept as a tuple of str; default empty).
    multi_label : bool
        Sigmoid scores, one per class, instead of a softmax (default False).
    duration : float or None
        Seconds the training clips were cropped or padded to (default None: whole clips).
    pad : {'zeros', 'repeat'}
        How a clip shorter than that is padded (default 'zeros').
    window : float or None
        Seconds per prediction window (default None: `duration`; None then scores the whole clip at once).
    hop : float or None
        Seconds between windows (default None: window / 2).
    agg : {'mean', 'max'}
        How the windows' probabilities are aggregated (default 'mean').
    network : dict or None
        How `build_network` rebuilds the network (`describe_network`), or None (the default).

    Raises
    ------
    ValueError
        For a front end that is not a `FrontEnd`, another `pad` or `agg`, or a duration, window or hop that is
        not None or > 0 seconds.
    """
    front_end: FrontEnd
    classes: tuple = ()
    multi_label: bool = False
    duration: float | None = None
    pad: str = 'zeros'
    window: float | None = None
    hop: float | None = None
    agg: str = 'mean'
    network: dict | None = None

    def __post_init__(self):
        if not isinstance(self.front_end, FrontEnd):
            raise ValueError(f'AudioModelSpec.front_end must be a FrontEnd, got {type(self.front_end).__name__}')
        object.__setattr__(self, 'classes', tuple(str(c) for c in self.classes))
        if self.pad not in ('zeros', 'repeat'): raise ValueError(f"AudioModelSpec.pad must be 'zeros' or 'repeat', got {self.pad!r}")
        if self.agg not in ('mean', 'max'): raise ValueError(f"AudioModelSpec.agg must be 'mean' or 'max', got {self.agg!r}")
        for f in ('duration', 'window', 'hop'):
            v = getattr(self, f)
            if v is not None and not (isinstance(v, (int, float)) and v > 0):
                raise ValueError(f'AudioModelSpec.{f} must be None or > 0 seconds, got {v!r}')
        if self.window is None and self.duration is not None: object.__setattr__(self, 'window', self.duration)
        if self.hop is None and self.window is not None: object.__setattr__(self, 'hop', self.window / 2)

    def replace(self, **changes) -> 'AudioModelSpec':
        "A checked copy; a new `window` brings its default hop (window / 2) unless `hop` is given too."
        if 'window' in changes and 'hop' not in changes: changes['hop'] = None
        return dataclasses.replace(self, **changes)

    @property
    def window_length(self) -> int | None:
        "Samples per window (None: whole clips)."
        return None if self.window is None else seconds_to_samples(self.window, self.front_end.sample_rate, 1)

    @property
    def hop_length(self) -> int | None:
        return None if self.hop is None else seconds_to_samples(self.hop, self.front_end.sample_rate, 1)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return served_dict('classifier', {**d, 'front_end': self.front_end.to_dict(), 'classes': list(self.classes),
                                          'sample_rate': self.front_end.sample_rate})

    @classmethod
    def from_dict(cls, d: dict) -> 'AudioModelSpec':
        """The spec `to_dict` wrote, or a clip classifier's config of an older format (2, or v0.1's). Unknown
        fields, another kind or a newer format raise a ValueError naming them."""
        if 'kind' not in d and config_version(d) == 1: d = _from_v1(d)
        _, d = record_fields(cls, d, 'classifier', derived=('sample_rate',))
        return cls(**{**d, 'front_end': FrontEnd.from_dict(d['front_end'])})


def _from_v1(cfg: dict) -> dict:
    "A v0.1 export config (log-mel only, windows in seconds) as the fields of the current format."
    fe = dict(cfg['front_end'])
    norm = fe.pop('normalize', None)
    fe.update(normalize='dataset', mean=norm[0], std=norm[1]) if isinstance(norm, (list, tuple)) else fe.update(normalize=norm)
    return dict(front_end=fe, classes=cfg['classes'], multi_label=cfg['multi_label'],
                duration=cfg['window_seconds'], pad='repeat' if cfg.get('repeat') else 'zeros',
                window=cfg['window_seconds'], hop=cfg['hop_seconds'], agg=cfg['agg'], network=cfg.get('arch'))


class WaveformClassifier(nn.Module):
    """One waveform `(samples,)` (or `(channels, samples)`) at `sr` -> class probabilities `(n_classes,)`.

    `window_probs(wave)` gives the per-window probabilities `(n_windows, n_classes)`. Windows are cut by
    `frame_signal`: the last window flush with the end, a shorter clip padded by `pad`.

    Parameters
    ----------
    front_end : nn.Module
        Windows `(n, channels, samples)` -> network input.
    net : nn.Module
        The network.
    sr : int
        Sample rate in Hz (kept as `.sample_rate`, the served modules' attribute).
    window_length : int or None
        Samples per window (default None: the whole clip is scored as one window).
    hop_length : int or None
        Samples between window starts (default None: window_length // 2, at least 1).
    multi_label : bool
        Sigmoid instead of softmax (default False).
    agg_max : bool
        Aggregate the windows by max instead of mean (default False).
    pad : {'zeros', 'repeat'}
        How a clip shorter than a window is padded (default 'zeros').
    channels : int
        The network's channels (default 1: a 1-D waveform is expected, as the loaders downmix).
    """
    @renamed_parameters(sample_rate='sr')
    def __init__(self, front_end: nn.Module, net: nn.Module, sr: int, *, window_length: int | None = None,
                 hop_length: int | None = None, multi_label: bool = False, agg_max: bool = False, pad: str = 'zeros',
                 channels: int = 1):
        super().__init__()
        self.front_end, self.net = front_end, net
        self.sample_rate, self.channels = int(sr), int(channels)
        self.whole = window_length is None
        self.window_length = 0 if self.whole else int(window_length)
        self.hop_length = int(hop_length or max(1, self.window_length // 2))
        self.multi_label, self.agg_max, self.pad = bool(multi_label), bool(agg_max), pad

    def windows(self, wave: torch.Tensor) -> torch.Tensor:
        "`(n_windows, channels, window_length)` cut from `wave` by `frame_signal` (the whole clip if no window)."
        if wave.ndim == 1: wave = wave.unsqueeze(0)
        if self.whole: return wave.unsqueeze(0)
        return frame_signal(wave, self.window_length, self.hop_length, self.pad)

    def window_probs(self, wave: torch.Tensor) -> torch.Tensor:
        logits = self.net(self.front_end(self.windows(wave)))
        return torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)

    def aggregate(self, window_probs: torch.Tensor) -> torch.Tensor:
        "`(n_windows, n_classes)` window probabilities -> the clip's `(n_classes,)`, by mean (or max: `agg_max`)."
        return aggregate_windows(window_probs, agg='max' if self.agg_max else 'mean')

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.aggregate(self.window_probs(wave))


def waveform_classifier(spec: AudioModelSpec, net: nn.Module | None = None) -> WaveformClassifier:
    """The `WaveformClassifier` that `spec` describes (eval mode), around `net` or, when None, an untrained
    network rebuilt from `spec.network` (`build_network`); `load_exported` fills its weights."""
    if net is None:
        if not spec.network: raise ValueError('the config does not say how to rebuild the network: pass net=')
        net = build_network(spec.network)
    fe = spec.front_end
    model = WaveformClassifier(FrontEndModule(fe), net, fe.sample_rate, window_length=spec.window_length, hop_length=spec.hop_length,
                               multi_label=spec.multi_label, agg_max=spec.agg == 'max', pad=spec.pad, channels=fe.channels)
    model.spec, model.classes = spec, list(spec.classes)
    return model.eval()


def build_network(arch: dict) -> nn.Module:
    """An untrained network with the layout (and so the state-dict keys) described by `arch`.

    A torchvision body needs torchvision, a timm body timm; a served model that should need neither is loaded
    from its TorchScript, ONNX or `model.pt2` file.

    Parameters
    ----------
    arch : dict
        What `describe_network` wrote: its 'source' is 'torchvision', 'timm' or 'audio_model'.

    Returns
    -------
    nn.Module
        `nn.Sequential(body, head)`; a registry backbone is built by
        `create_audio_model(name, n_out, pretrained=False)`.

    Raises
    ------
    ValueError
        For an unknown network source.
    """
    if arch['source'] == 'audio_model':
        extra = {k: v for k, v in arch.items() if k not in ('source', 'name', 'n_out')}
        return create_audio_model(arch['name'], arch['n_out'], pretrained=False, **extra)
    if arch['source'] == 'torchvision': body = torchvision_body(arch['name'], arch['n_in'], arch['body_children'])
    elif arch['source'] == 'timm':
        import timm
        body = TimmFeatureBody(timm.create_model(arch['name'], pretrained=False, num_classes=0, in_chans=arch['n_in']),
                         arch['needs_pool'])
    else: raise ValueError(f"unknown network source {arch['source']!r}")
    return nn.Sequential(body, nn.Sequential(*[build_head_layer(d) for d in arch['head']]))
