"""One loader for every exported folder, torch only: `load_exported(folder)` reads config.json (`serving.config`),
builds the served module its `kind` names and fills it from model.safetensors.

    from fastai_audio.serving import load_exported
    model = load_exported('tagger/')       # WaveformClassifier, FrameDetector or EmbeddingClassifier
    model = load_exported('hf://me/tagger')    # the same from the Hugging Face Hub (its cache when offline)
    probs = model(torch.from_numpy(wave))

`load_waveform_model` and `load_sed_model` are `load_exported` for one kind, refusing the others by name.
"""
from __future__ import annotations

from pathlib import Path

from torch import nn

from .classifier import AudioModelSpec, waveform_classifier
from .config import KINDS, config_kind, read_config
from .detector import SEDSpec, frame_detector
from .embedding import EmbeddingSpec, embedding_classifier
from .hub import hub_folder, is_hub_url

__all__ = ['load_exported', 'load_waveform_model', 'load_sed_model']

#: kind -> (its record, the function building its served module from the record and `net`)
SERVED = {'classifier': (AudioModelSpec, waveform_classifier), 'sed': (SEDSpec, frame_detector),
          'embedding': (EmbeddingSpec, embedding_classifier)}


def load_exported(path, net=None, kind: str | None = None) -> nn.Module:
    """The served module in an exported folder, whatever its kind.

    The folder holds config.json + model.safetensors, as every exporter writes them. The module comes in eval
    mode, with its record as `model.spec` and config.json as `model.config`. Needs torch (and safetensors)
    alone, plus torchvision or timm when the network is one of theirs (it is rebuilt from its name).
    model.ts, model.onnx and model.pt2 hold their own graph: `torch.jit.load`, onnxruntime,
    `torch.export.load(...).module()` load them without this package.

    Parameters
    ----------
    path : str or Path
        The folder, or 'hf://user/repo' (optionally '@revision') for one on the Hugging Face Hub, loaded through
        the Hub's cache (`serving.hub`: downloaded once, offline afterwards).
    net : nn.Module, tuple or None
        The network, any weights, when the config cannot say how to rebuild it: a clip classifier's network, a
        detector's `FrameClassifier`, or an embedding model's `(encoder, head)` (either may be None). Every
        weight must match (`strict=True`). Default None: rebuilt from the config.
    kind : {'classifier', 'sed', 'embedding', None}
        The kind expected (default None: any).

    Returns
    -------
    nn.Module
        `WaveformClassifier` (kind 'classifier'), `FrameDetector` ('sed') or `EmbeddingClassifier`
        ('embedding').

    Raises
    ------
    FileNotFoundError
        When the folder has no config.json.
    HubModelError
        For a Hub repository neither cached nor downloadable (saying why).
    ValueError
        For a folder of another kind than `kind` (naming the folder and the kind it holds), an unknown kind, a
        config of a newer format or with unknown fields, or a network the config cannot rebuild without `net`.

    Examples
    --------
    >>> model = load_exported('tagger/')                 # doctest: +SKIP
    >>> probs = model(torch.from_numpy(wave))            # doctest: +SKIP
    """
    from safetensors.torch import load_file
    path = hub_folder(path) if is_hub_url(path) else Path(path)
    cfg = read_config(path)
    got = config_kind(cfg)
    if kind is not None and got != kind:
        if kind not in KINDS: raise ValueError(f'unknown model kind {kind!r} (known: {", ".join(KINDS)})')
        raise ValueError(f'{path} holds a model of kind {got!r} ({KINDS[got]}), not {kind!r} ({KINDS[kind]}): '
                         'load it with load_exported' + (' or load_sed_model' if got == 'sed' else ''))
    record, build = SERVED[got]
    spec = record.from_dict(cfg)
    try: model = build(spec, net)
    except ValueError as e: raise ValueError(f'{path / "config.json"}: {e}') from e
    model.load_state_dict(load_file(str(path / 'model.safetensors')), strict=True)
    model.config = cfg
    return model.eval()


def load_waveform_model(path, net: nn.Module | None = None):
    """The `WaveformClassifier` in folder `path`: `load_exported(path, net, kind='classifier')`.

    Parameters
    ----------
    path : str or Path
        The folder.
    net : nn.Module or None
        The network, any weights, when the config cannot say how to rebuild it (default None).

    Returns
    -------
    WaveformClassifier
        In eval mode.

    Raises
    ------
    ValueError
        For a folder of another kind, naming it; else as `load_exported`.
    """
    return load_exported(path, net, kind='classifier')


def load_sed_model(path, net: nn.Module | None = None):
    """The `FrameDetector` in folder `path`: `load_exported(path, net, kind='sed')`.

    Its `events(wave)` decodes the frame probabilities into events.

    Parameters
    ----------
    path : str or Path
        The folder.
    net : nn.Module or None
        The `FrameClassifier`, any weights, when the config cannot say how to rebuild it (default None).

    Returns
    -------
    FrameDetector
        In eval mode.

    Raises
    ------
    ValueError
        For a folder of another kind, naming it; else as `load_exported`.
    """
    return load_exported(path, net, kind='sed')
