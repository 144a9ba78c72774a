"""A trained sound event detector served without fastai: waveform in, frame probabilities and events out.

`FrameDetector` holds the training front end (`FrontEndModule`) and a frame-level network (`backbones.sed.
FrameClassifier`); `events(wave)` decodes its frame probabilities with `runtime.events.decode_events`.
`load_sed_model(folder)` reads the folder `export_sed_model` writes (config.json + model.safetensors) and
rebuilds the network from its description (torchvision rebuilds a torchvision body).

A trained one serves as a `FrameDetector` (waveform in, frame probabilities out, events by `decode_events`),
saved and loaded with fastai nowhere: `load_exported(folder)` (torchvision rebuilds a torchvision body). Its
config.json is a `SEDSpec` (kind 'sed').
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..runtime.events import GATE_DB, frame_grid
from ..runtime.functional import gate_frames
from ..runtime.frontend import FrontEnd, FrontEndModule
from ..backbones.sed import build_frame_classifier
from .config import record_fields, served_dict

__all__ = ['SEDSpec', 'FrameDetector']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('frame_detector', 'decoding_settings')


@dataclass(frozen=True)
class SEDSpec:
    """Everything a trained sound event detector needs to be used, as `AudioModelSpec` is for a clip classifier.

    It is `SEDLearner.spec`, and `config.json` of an exported detector is its `to_dict()` (kind 'sed'). The
    frame grid (`frame_seconds`, and `start`, the time of frame 0: frame i stands for `start + i *
    frame_seconds` seconds, as `events.frame_grid` gives it) follows from the front end; `to_dict` writes it
    too, for `decode_events` on the probabilities of model.ts or model.onnx.

    Parameters
    ----------
    front_end : FrontEnd
        The front end the validation batches go through.
    classes : tuple of str
        Class names, in the network's output order (default none).
    network : dict or None
        How `backbones.sed.build_frame_classifier` rebuilds the `FrameClassifier` (`describe_frame_classifier`),
        or None (default): load with `net=`.
    gate_db : float or None
        The level gate: frames whose waveform level (`functional.frame_level_db`, dB re full scale) is at or
        below it get probability 0, so silence and near silence are never an event whatever the network makes
        of them (default `GATE_DB`, -60 dB; None: no gate).
    decoding : dict or None
        The decoding `SEDLearner.tune_decoding` chose on validation (`threshold`, `median`: one per class, and
        what they scored), the default of `FrameDetector.events` and `predict_events` (default None: threshold
        0.5, no median filter).
    """
    front_end: FrontEnd
    classes: tuple = ()
    network: dict | None = None
    gate_db: float | None = GATE_DB
    decoding: dict | None = None

    def __post_init__(self):
        if not isinstance(self.front_end, FrontEnd):
            raise ValueError(f'SEDSpec.front_end must be a FrontEnd, got {type(self.front_end).__name__}')
        object.__setattr__(self, 'classes', tuple(str(c) for c in self.classes))

    @property
    def frame_grid(self) -> tuple[float, float]:
        "(seconds per frame, time of frame 0 in seconds)."
        fe = self.front_end
        return frame_grid(fe.hop_length, fe.sample_rate, center=fe.center, n_fft=fe.n_fft)

    def to_dict(self) -> dict:
        step, start = self.frame_grid
        return served_dict('sed', dict(front_end=self.front_end.to_dict(), classes=list(self.classes),
                                       frame_seconds=step, start=start, network=self.network,
                                       sample_rate=self.front_end.sample_rate, gate_db=self.gate_db,
                                       decoding=self.decoding))

    @classmethod
    def from_dict(cls, d: dict) -> 'SEDSpec':
        """The spec `to_dict` wrote, or the config of a detector exported before format 3 (kind 'sed', no
        format_version). Unknown fields, another kind or a newer format raise a ValueError naming them."""
        _, d = record_fields(cls, d, 'sed', derived=('frame_seconds', 'start', 'sample_rate'))
        return cls(**{**d, 'front_end': FrontEnd.from_dict(d['front_end'])})

# =========================================================================== serving: waveform in, frames out
class FrameDetector(nn.Module):
    """A sound event detector: one waveform of any length in, frame probabilities out.

    The training front end (`FrontEndModule`) and a `FrameClassifier`, in plain torch. `model(wave)` takes a
    waveform `(samples,)` (or `(channels, samples)`) at `model.sample_rate` and returns probabilities `(frames,
    classes)`. Frame i stands for `start + i * frame_seconds` seconds (`events.frame_times` of the front end), so
    `events(wave)` decodes them into events with `decode_events`.

    Parameters
    ----------
    front_end : FrontEnd
        What the network was trained on (sample rate, channels, STFT geometry...).
    net : nn.Module
        The `FrameClassifier`, spectrograms in, `(frame_logits, clip_logits)` out.
    classes : list of str
        The class names, in the network's output order.
    gate_db : float or None
        Frames at or below this level (dB re full scale) get probability 0 (default `GATE_DB`; None: no gate).
    decoding : dict or None
        The default settings of `events` (`threshold`, `median`; default None: 0.5 and 1).

    Examples
    --------
    >>> model = load_sed_model('detector/')                 # doctest: +SKIP
    >>> model.events(torch.from_numpy(wave), threshold=0.5, median=5)   # doctest: +SKIP
    """
    def __init__(self, front_end: FrontEnd, net: nn.Module, classes, *, gate_db: float | None = GATE_DB,
                 decoding: dict | None = None):
        super().__init__()
        self.front_end, self.net, self.classes = FrontEndModule(front_end), net, [str(c) for c in classes]
        self.sample_rate, self.channels, self.whole = int(front_end.sample_rate), int(front_end.channels), True
        fe = front_end
        self.frame_seconds, self.start = frame_grid(fe.hop_length, fe.sample_rate, center=fe.center, n_fft=fe.n_fft)
        self.n_fft, self.hop_length, self.center = int(fe.n_fft), int(fe.hop_length), bool(fe.center)
        self.gate_db = -math.inf if gate_db is None else float(gate_db)
        self.decoding = dict(decoding or {})

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.ndim == 1: wave = wave.unsqueeze(0)
        frame_logits, _ = self.net(self.front_end(wave.unsqueeze(0)))
        return gate_frames(torch.sigmoid(frame_logits[0]), wave, self.n_fft, self.hop_length, self.center, self.gate_db)

    @torch.jit.ignore
    def events(self, wave: torch.Tensor, threshold=None, low=None, median=None, min_duration: float = 0.0,
               min_gap: float = 0.0, filename: str = '', probs: torch.Tensor | None = None) -> list:
        """The events of `wave`, decoded from its frame probabilities by `events.decode_events`.

        Parameters
        ----------
        wave : torch.Tensor
            `(samples,)` or `(channels, samples)` at `self.sample_rate`.
        threshold, median : float / int or one per class, optional
            Default None: the tuned decoding this detector carries (`decoding`), else 0.5 and 1.
        low, min_duration, min_gap, filename
            As `decode_events` takes them (which explains the settings).
        probs : torch.Tensor or None
            `self(wave)`, when the caller has it already (default None: computed here).

        Returns
        -------
        list of Event
            Onsets and offsets in seconds from the start of `wave`, never past its end.
        """
        from ..runtime.events import decode_events
        threshold, median = decoding_settings(self.decoding, threshold, median)
        if probs is None:
            with torch.no_grad(): probs = self(wave)
        return decode_events(probs, self.classes, self.frame_seconds, threshold=threshold, low=low, median=median,
                             min_duration=min_duration, min_gap=min_gap, filename=filename, start=self.start,
                             duration=wave.shape[-1] / self.sample_rate)


def decoding_settings(decoding: dict | None, threshold=None, median=None) -> tuple:
    """(threshold, median) for `decode_events`: those given, else those of a tuned `decoding`, else 0.5 and 1."""
    decoding = decoding or {}
    return (decoding.get('threshold', 0.5) if threshold is None else threshold,
            decoding.get('median', 1) if median is None else median)


def frame_detector(spec: SEDSpec, net: nn.Module | None = None) -> FrameDetector:
    """The `FrameDetector` that `spec` describes (eval mode), around `net` or, when None, an untrained
    `FrameClassifier` rebuilt from `spec.network` (torchvision for its body); `load_exported` fills its weights."""
    if net is None:
        if not spec.network: raise ValueError('the config does not say how to rebuild the network: pass net=')
        net = build_frame_classifier(spec.network)
    model = FrameDetector(spec.front_end, net, spec.classes, gate_db=spec.gate_db, decoding=spec.decoding)
    model.spec = spec
    return model.eval()
