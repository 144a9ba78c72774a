"""The embedding classifier served: a frozen embedder (`backbones.embedders.AudioEmbedder`) and the head trained on
its frame embeddings as one waveform-in module, `EmbeddingClassifier`, and `EmbeddingSpec`, its exported config
(kind 'embedding'), which records how the encoder and the head are rebuilt.

    from fastai_audio.serving import load_exported
    model = load_exported('embed_tagger/')            # config.json + model.safetensors, torch alone
    probs = model(torch.from_numpy(wave))          # (samples,) at model.sample_rate -> (n_classes,)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from ..backbones.crepe import Crepe
from ..backbones.embedders import (AudioEmbedder, CrepeEncoder, PannsEncoder, PooledEncoder, describe_embedding_head,
                                embedding_head)
from ..backbones.panns import Cnn6, Cnn10, Cnn14
from ..runtime.frontend import FrontEnd, FrontEndModule
from ..runtime.functional import aggregate_windows
from .classifier import build_network
from .config import record_fields, served_dict

__all__ = ['EmbeddingSpec', 'EmbeddingClassifier']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('embedding_classifier',)

_PANNS = {c.__name__: c for c in (Cnn6, Cnn10, Cnn14)}


class EmbeddingClassifier(nn.Module):
    """The embedder and a trained head as one waveform-in model.

    Waveform `(samples,)` at `sample_rate` -> class probabilities `(n_classes,)`, the mean
    (`runtime.functional.aggregate_windows`) over the embedder's frames of softmax (sigmoid if `multi_label`) of
    the head's scores. `window_probs(wave)` gives them per frame `(frames, n_classes)`.

    Parameters
    ----------
    embedder : AudioEmbedder
        The frozen embedder; its rate is kept as `.sample_rate`.
    head : nn.Module
        Embeddings `(frames, dim)` -> scores `(frames, n_classes)` (put in eval mode).
    multi_label : bool
        Sigmoid instead of softmax (default False).
    classes : sequence of str
        The class names, in the head's order (kept as `.classes`, a list of str; default empty).
    """
    def __init__(self, embedder: AudioEmbedder, head: nn.Module, *, multi_label: bool = False, classes=()):
        super().__init__()
        self.embedder, self.head, self.multi_label = embedder, head.eval(), bool(multi_label)
        self.sample_rate, self.classes = embedder.sample_rate, [str(c) for c in classes]

    def window_probs(self, wave: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.embedder(wave))
        return torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return aggregate_windows(self.window_probs(wave))


# =========================================================================== describing and rebuilding encoders
def _describe_encoder(encoder: nn.Module) -> dict | None:
    """How `_build_encoder` rebuilds `encoder` (untrained, the same state-dict keys): a learner's body with its front
    end (`source='learner'`, when the learner could describe its network), a PANNs network (`'panns'`) or CREPE
    (`'crepe'`); None for any other (a Hugging Face model, one of your own: load with `net=`)."""
    if isinstance(encoder, PooledEncoder):
        if encoder.network is None: return None
        return dict(source='learner', front_end=encoder.front_end.front_end.to_dict(), network=encoder.network)
    if isinstance(encoder, PannsEncoder) and type(encoder.cnn14).__name__ in _PANNS:
        c = encoder.cnn14
        fe = c.front_end
        return dict(source='panns', arch=type(c).__name__, sample_rate=c.sample_rate, window_size=fe.n_fft,
                    hop_size=c.hop_size, mel_bins=fe.n_mels, fmin=fe.f_min, fmax=fe.f_max,
                    classes_num=c.fc_audioset.out_features, widths=list(c.widths))
    if isinstance(encoder, CrepeEncoder):
        return dict(source='crepe', capacity=encoder.crepe.capacity, layer=encoder.layer,
                    hop_length=encoder.hop_length)
    return None


def _build_encoder(d: dict) -> nn.Module:
    "An untrained encoder with the layout `_describe_encoder` wrote (torchvision or timm for a learner's body)."
    source = d.get('source')
    if source == 'learner':
        return PooledEncoder(FrontEndModule(FrontEnd.from_dict(d['front_end'])), build_network(d['network'])[0],
                             d['network'])
    if source == 'panns':
        args = {k: v for k, v in d.items() if k not in ('source', 'arch')}
        return PannsEncoder(_PANNS[d['arch']](**{**args, 'widths': tuple(args['widths'])}).eval())
    if source == 'crepe': return CrepeEncoder(Crepe(d['capacity']), d['layer'], d['hop_length'])
    raise ValueError(f'cannot rebuild an encoder from {d!r}')


# =========================================================================== the exported config
@dataclass(frozen=True)
class EmbeddingSpec:
    """Everything an exported embedding classifier needs to be used, its served config.

    `config.json` of the folder `export_embedding_model` writes is its `to_dict()` (kind 'embedding'). With
    `encoder` or `head` None, `load_exported` takes it from `net=`.

    Parameters
    ----------
    sample_rate : int
        Hz of the waveforms.
    window : float
        Seconds per frame, the embedder's (default 0.96).
    hop : float
        Seconds between frames, the embedder's (default 0.48).
    classes : sequence of str
        Class names, in the head's order (kept as a tuple of str; default empty).
    multi_label : bool
        Sigmoid instead of softmax (default False).
    name : str
        The embedder's label (default 'custom').
    encoder : dict or None
        How `_build_encoder` rebuilds the encoder (`_describe_encoder`), or None (the default).
    head : dict or None
        The arguments of `backbones.embedders.embedding_head` that rebuild the head, or None (the default).
    """
    sample_rate: int
    window: float = 0.96
    hop: float = 0.48
    classes: tuple = ()
    multi_label: bool = False
    name: str = 'custom'
    encoder: dict | None = None
    head: dict | None = None

    def __post_init__(self):
        object.__setattr__(self, 'classes', tuple(str(c) for c in self.classes))
        object.__setattr__(self, 'sample_rate', int(self.sample_rate))

    @classmethod
    def from_embedder(cls, embedder: AudioEmbedder, head: nn.Module, classes,
                      multi_label: bool = False) -> 'EmbeddingSpec':
        "The spec of `embedder` and a trained `head` for `classes`."
        return cls(embedder.sample_rate, embedder.window, embedder.hop, tuple(classes), bool(multi_label),
                   embedder.name, _describe_encoder(embedder.encoder), describe_embedding_head(head))

    def to_dict(self) -> dict:
        return served_dict('embedding', {**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)},
                                         'classes': list(self.classes)})

    @classmethod
    def from_dict(cls, d: dict) -> 'EmbeddingSpec':
        """The spec `to_dict` wrote, or the config of an embedding model exported before format 3 (kind
        'embedding', the framing in `embedder`, the embedder's description; neither encoder nor head described,
        so `load_exported` needs `net=`). Unknown fields, another kind or a newer format raise a ValueError."""
        if 'format_version' not in d: d = _from_v2(d)
        _, fields = record_fields(cls, d, 'embedding')
        return cls(**fields)


def _from_v2(cfg: dict) -> dict:
    "An embedding config of format 2 (`embedder` held its description: name, rate, framing) in the current layout."
    e = cfg.get('embedder', {})
    return dict(format_version=2, kind=cfg.get('kind'), sample_rate=cfg['sample_rate'], window=e.get('window', 0.96),
                hop=e.get('hop', 0.48), classes=cfg['classes'], multi_label=cfg.get('multi_label', False),
                name=e.get('name', 'custom'))


def embedding_classifier(spec: EmbeddingSpec, net=None) -> EmbeddingClassifier:
    """The `EmbeddingClassifier` that `spec` describes (eval mode). `net`: the `(encoder, head)` pair, either
    None to rebuild it from the spec (untrained; `load_exported` fills the weights)."""
    encoder, head = net if net is not None else (None, None)
    if encoder is None:
        if spec.encoder is None: raise ValueError('the config does not say how to rebuild the encoder: pass '
                                                  'net=(encoder, head)')
        encoder = _build_encoder(spec.encoder)
    if head is None:
        if spec.head is None: raise ValueError('the config does not say how to rebuild the head: pass '
                                               'net=(encoder, head)')
        head = embedding_head(**spec.head)
    embedder = AudioEmbedder(encoder, spec.sample_rate, window=spec.window, hop=spec.hop, name=spec.name)
    model = EmbeddingClassifier(embedder, head, multi_label=spec.multi_label, classes=spec.classes)
    model.spec = spec
    return model.eval()
