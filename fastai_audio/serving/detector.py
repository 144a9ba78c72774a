"""Frame-level models for sound event detection: any CNN body on spectrograms, a head that pools over frequency,
keeps time and comes back to the front end's frame rate, and clip scores pooled from the frames (for weak
labels), with a loss on frames, on clips, or both.

    model = FrameClassifier(create_body(resnet18(), n_in=1, pretrained=False), n_classes=10)
    frame_logits, clip_logits = model(spectrograms)            # (batch, frames, classes), (batch, classes)
    loss = SEDLoss()(model(x), frame_targets)                   # frame BCE + clip BCE

A trained one serves as a `FrameDetector` (waveform in, frame probabilities out, events by `decode_events`),
saved and loaded with fastai nowhere: `load_sed_model(folder)` (torchvision rebuilds a torchvision body).
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
    """One waveform `(samples,)` (or `(channels, samples)`) at `sample_rate`, of any length -> frame
    probabilities `(frames, classes)`: the training front end (`FrontEndModule`) and a `FrameClassifier`.
    Frame i stands for `start + i * frame_seconds` seconds (`events.frame_times` of the front end), so
    `events(wave)` decodes them into events with `decode_events`, in plain torch.

    Parameters
    ----------
    front_end : FrontEnd (what the network was trained on). net : the `FrameClassifier`. classes : the names.
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
        "The events of `wave` (`events.decode_events`, which explains the settings), as a list of `Event`."
        from ..runtime.events import decode_events
        with torch.no_grad(): probs = self(wave)
        return decode_events(probs, self.classes, self.frame_seconds, threshold, low, median, min_duration, min_gap,
                             filename, self.start)


def load_sed_model(path, net: nn.Module | None = None) -> FrameDetector:
    """The `FrameDetector` in folder `path` (config.json + model.safetensors, as `export_sed_model` writes them),
    in eval mode; the network is rebuilt from the config unless `net` (same layout) is given, and every weight
    must match (`strict=True`). Torch alone: load `model.ts` (`torch.jit.load`) or `model.onnx` instead."""
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
