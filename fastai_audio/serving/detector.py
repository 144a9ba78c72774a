"""A trained sound event detector served without fastai: waveform in, frame probabilities and events out.

`FrameDetector` holds the training front end (`FrontEndModule`) and a frame-level network (`models.sed.
FrameClassifier`); `events(wave)` decodes its frame probabilities with `runtime.events.decode_events`.
`load_sed_model(folder)` reads the folder `export_sed_model` writes (config.json + model.safetensors) and
rebuilds the network from its description (torchvision rebuilds a torchvision body).

    model = load_sed_model('detector/')
    x = torch.from_numpy(wave)                 # float samples at model.sample_rate
    probs = model(x)                           # (frames, classes), frame i at model.start + i * model.frame_seconds
    found = model.events(x, threshold=0.5, median=5)
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from ..runtime.frontend import FrontEnd, FrontEndModule
from ..backbones.sed import build_frame_classifier

__all__ = ['FrameDetector', 'load_sed_model']

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

    Examples
    --------
    >>> model = load_sed_model('detector/')                 # doctest: +SKIP
    >>> model.events(torch.from_numpy(wave), threshold=0.5, median=5)   # doctest: +SKIP
    """
    def __init__(self, front_end: FrontEnd, net: nn.Module, classes):
        super().__init__()
        from ..runtime.events import frame_grid
        self.front_end, self.net, self.classes = FrontEndModule(front_end), net, [str(c) for c in classes]
        self.sample_rate, self.channels, self.whole = int(front_end.sample_rate), int(front_end.channels), True
        fe = front_end
        self.frame_seconds, self.start = frame_grid(fe.hop_length, fe.sample_rate, fe.center, fe.n_fft)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.ndim == 1: wave = wave.unsqueeze(0)
        frame_logits, _ = self.net(self.front_end(wave.unsqueeze(0)))
        return torch.sigmoid(frame_logits[0])

    @torch.jit.ignore
    def events(self, wave: torch.Tensor, threshold=0.5, low=None, median: int = 1, min_duration: float = 0.0,
               min_gap: float = 0.0, filename: str = '') -> list:
        """The events of `wave`, decoded from its frame probabilities by `events.decode_events`.

        Parameters
        ----------
        wave : torch.Tensor
            `(samples,)` or `(channels, samples)` at `self.sample_rate`.
        threshold, low, median, min_duration, min_gap, filename
            As `decode_events` takes them (which explains the settings).

        Returns
        -------
        list of Event
            Onsets and offsets in seconds from the start of `wave`.
        """
        from ..runtime.events import decode_events
        with torch.no_grad(): probs = self(wave)
        return decode_events(probs, self.classes, self.frame_seconds, threshold, low, median, min_duration, min_gap,
                             filename, self.start)


def load_sed_model(path, net: nn.Module | None = None) -> FrameDetector:
    """Load the `FrameDetector` saved in a folder, in eval mode.

    Torch alone: load `model.ts` (`torch.jit.load`) or `model.onnx` instead.

    Parameters
    ----------
    path : str or Path
        The folder: config.json + model.safetensors, as `export_sed_model` writes them.
    net : nn.Module, optional
        The network, of the saved layout (default None: rebuilt from the config). Every weight must match
        (`strict=True`).

    Returns
    -------
    FrameDetector
        With the saved config as `model.config`.

    Raises
    ------
    ValueError
        When the folder holds no sound event detector (another config kind), or its config does not say how to
        rebuild the network and `net` is not given.

    Examples
    --------
    >>> model = load_sed_model('detector/')                 # doctest: +SKIP
    >>> probs = model(torch.from_numpy(wave))                # (frames, classes)   # doctest: +SKIP
    """
    from safetensors.torch import load_file
    path = Path(path)
    cfg = json.loads((path / 'config.json').read_text())
    if cfg.get('kind') != 'sed':
        raise ValueError(f'{path} does not hold a sound event detector (config kind {cfg.get("kind")!r}); '
                         'load_waveform_model loads clip classifiers')
    if net is None:
        if not cfg.get('network'): raise ValueError(f'{path / "config.json"} does not say how to rebuild the network: pass net=')
        net = build_frame_classifier(cfg['network'])
    model = FrameDetector(FrontEnd.from_dict(cfg['front_end']), net, cfg['classes'])
    model.load_state_dict(load_file(str(path / 'model.safetensors')), strict=True)
    model.config = cfg
    return model.eval()
