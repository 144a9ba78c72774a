"""Exporting a served module: a trained learner as one waveform-in module, saved in formats that load without
fastai or pickle.

`waveform_model(learn)` is the learner's `WaveformClassifier` (its front end as a `FrontEndModule`, its network,
and the sliding-window aggregation of `AudioLearner.predict`, or the whole clip at once for a learner trained on
whole clips), all in plain torch, so TorchScript, `torch.export` and ONNX run it.

    export_waveform_model(learn, 'tagger/')    # config.json + model.safetensors, model.ts, model.onnx
    model = load_exported('tagger/')           # or torch.jit.load('tagger/model.ts'), or onnxruntime
    export_waveform_model(learn, 'page/', formats=('web',))   # model.onnx + index.html: the model in a browser

What each file needs: config.json + model.safetensors load with `fastai_audio.serving` and torch alone (plus
torchvision or timm to rebuild a network of theirs); model.ts, model.onnx and model.pt2 hold their own graph
and need torch (onnxruntime for ONNX) and nothing else; index.html (format 'web', `serving.web`) runs model.onnx in a
browser with onnxruntime-web, served from any static server. fastai's `learn.export()` writes a pickle, which runs
code when loaded; none of these does. `save_waveform_model` writes any served module (classifier, detector,
embedding classifier) with its config.
"""
from __future__ import annotations

import contextlib
import copy
import json
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from .card import write_model_card
from .classifier import AudioModelSpec, WaveformClassifier, waveform_classifier
from .web import check_web_config, write_web_page
from ..runtime.networks import describe_network

__all__ = ['waveform_model', 'export_waveform_model', 'save_waveform_model', 'arch_config']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('learner_facts',)

FORMATS = ('safetensors', 'torchscript', 'onnx', 'pt2', 'web')


# --------------------------------------------------------------------------- from a learner
def waveform_model(learn, window: float | None = None, *, hop: float | None = None, agg: str = 'mean') -> WaveformClassifier:
    """`learn` as a `WaveformClassifier`, built from `learn.spec`.

    In eval mode, on the CPU, with a copy of the network, so the learner is left as it was.

    Parameters
    ----------
    learn : AudioLearner
        A trained fastai_audio learner (it has `spec`).
    window : float or None
        Seconds per window (default None: the spec's, i.e. the training crop; a learner trained on whole clips
        gives a whole-clip model).
    hop : float or None
        Seconds between windows (default None: the spec's, i.e. half the window).
    agg : {'mean', 'max'}
        How the windows' probabilities are aggregated (default 'mean').

    Returns
    -------
    WaveformClassifier
        The model, with its served config as `model.config` (the spec with the serving window, as a dict).

    Raises
    ------
    ValueError
        Naming each pipeline element that the export cannot carry (a transform of your own that acts on
        validation batches), or a front end without what serving needs (dataset statistics).
    """
    spec = _serving_spec(learn, window, hop, agg)
    net = copy.deepcopy(learn.model).eval().cpu()
    model = waveform_classifier(spec, net)
    model.config = spec.to_dict()
    return model


def _serving_spec(learn, window, hop, agg) -> AudioModelSpec:
    spec = learn.spec
    foreign = getattr(learn, 'foreign_tfms', [])
    if foreign:
        raise ValueError(f'cannot export: the pipeline applies {", ".join(foreign)} to validation batches, which the '
                         'waveform-in model cannot reproduce; export a learner whose loaders use only fastai_audio\'s '
                         'front-end transforms (augmentations that run on training batches only are fine)')
    spec.front_end.check_servable('export')
    changes = {k: v for k, v in dict(window=window, hop=hop, agg=agg).items() if v is not None}
    return spec.replace(**changes) if changes else spec


def _example_input(model: nn.Module) -> torch.Tensor:
    """A waveform for tracing a waveform-in `model`: several windows of a windowed `WaveformClassifier` (a single
    one would let the exporters freeze the window count), else two seconds; `(samples,)` mono, `(channels,
    samples)` otherwise (`model.channels`, 1 when it has none)."""
    whole, channels = getattr(model, 'whole', True), getattr(model, 'channels', 1)
    n = model.sample_rate * 2 if whole else 3 * model.window_length + model.hop_length // 2 + 1
    return torch.zeros(n) if channels == 1 else torch.zeros(channels, n)


def export_waveform_model(learn, path, *, window: float | None = None, hop: float | None = None, agg: str = 'mean',
                          formats=('safetensors', 'torchscript', 'onnx')) -> Path:
    """Write `learn` as a waveform-in model (`waveform_model`) to folder `path`.

    Parameters
    ----------
    learn : AudioLearner
        A trained fastai_audio learner.
    path : str or Path
        The folder, created if needed.
    window : float or None
        Seconds per window, as `waveform_model` (default None: the spec's).
    hop : float or None
        Seconds between windows, as `waveform_model` (default None: the spec's).
    agg : {'mean', 'max'}
        How the windows' probabilities are aggregated (default 'mean').
    formats : sequence of str
        Any of 'safetensors' (config.json + weights: `load_waveform_model`), 'torchscript' (model.ts), 'onnx'
        (model.onnx, opset 18, one file, input 'waveform' of any length, output 'probabilities'), 'pt2'
        (`torch.export.save`: `torch.export.load(path / 'model.pt2').module()`), 'web' (model.onnx, as 'onnx',
        and index.html, a static page that runs it in a browser with onnxruntime-web: `serving.web`; class
        probabilities only, so not a detector's). Default: the first three. The other exporters take the same
        formats.

    Returns
    -------
    Path
        The folder; config.json is `learn.spec` (with the serving window) as a dict.

    Raises
    ------
    ValueError
        As `waveform_model`, or for an unknown format.
    RuntimeError
        When torch.export cannot trace the network for 'onnx', 'pt2' or 'web', naming the format and the formats to
        export instead.

    Examples
    --------
    >>> export_waveform_model(learn, 'tagger/')                  # doctest: +SKIP
    >>> model = load_exported('tagger/')                         # doctest: +SKIP
    >>> probs = model(torch.from_numpy(wave))                    # doctest: +SKIP
    """
    model = waveform_model(learn, window, hop=hop, agg=agg)
    w = model.windows(_example_input(model))
    with torch.no_grad(): x = model.front_end(w)
    return save_waveform_model(model, path, model.config, formats=formats, traced={'front_end': w, 'net': x},
                               training=learner_facts(learn))


def learner_facts(learn) -> dict | None:
    "How `learn` was trained (its `TrainingLog`'s facts, for the model card), or None for a learner without one."
    log = getattr(learn, 'training_log', None)
    return log.facts() if log is not None else None


def save_waveform_model(model: nn.Module, path, config: dict, *, formats=('safetensors', 'torchscript', 'onnx'),
                        traced: dict | None = None, training: dict | None = None) -> Path:
    """Save any waveform-in module to folder `path` as config.json, its model card and the chosen `formats`.

    The model card is README.md in the Hugging Face Hub's format (`serving.card`), so the folder can be pushed
    as it is (`push_to_hub`).

    The files get the mode a new file gets under the umask (0644 under the usual 022), so the folder can be
    shared.

    Parameters
    ----------
    model : nn.Module
        A waveform-in module: `(samples,)` or `(channels, samples)` -> `(n_classes,)`.
    path : str or Path
        The folder, created if needed.
    config : dict
        Written as config.json.
    formats : sequence of str
        As `export_waveform_model` (default 'safetensors', 'torchscript', 'onnx').
    traced : dict or None
        {submodule name: example input}: submodules to trace rather than script for TorchScript (networks whose
        code TorchScript cannot compile; their batch size stays free). Default None: script all of it.
    training : dict or None
        How the model was trained, for the card (`TrainingLog.facts`; default None: not recorded).

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    ValueError
        For an unknown format, or 'web' for a model the page cannot show (a detector), naming the kind.
    RuntimeError
        When torch.export cannot trace the network for 'onnx', 'pt2' or 'web', naming the format.
    """
    from safetensors.torch import save_file
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown: raise ValueError(f'unknown export format {unknown[0]!r}; known: {", ".join(FORMATS)}')
    if 'web' in formats: check_web_config(config)       # before anything is written
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / 'config.json').write_text(json.dumps(config, indent=1))
    write_model_card(path, training=training)
    if 'safetensors' in formats:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path / 'model.safetensors'))
    if 'torchscript' in formats: _to_torchscript(model, traced or {}).save(str(path / 'model.ts'))
    onnx = 'onnx' in formats or 'web' in formats         # the page runs the same model.onnx, written once
    if onnx or 'pt2' in formats:
        x = _example_input(model)
        # any length for a windowed model (the windows are fixed); a whole-clip model takes the lengths its network
        # can (torch.export finds the shortest: a few frames, after the network's pooling)
        whole = getattr(model, 'whole', False)
        dim = torch.export.Dim.AUTO if whole else torch.export.Dim('samples', min=2, max=2 ** 31 - 1)
        dynamic = ({x.ndim - 1: dim},)
    if onnx:
        with _names_the_format('onnx' if 'onnx' in formats else 'web', model, formats):
            if any(isinstance(m, nn.RNNBase) for m in model.modules()):
                # torch 2.14's torch.export-based exporter unrolls a recurrent layer over the example's frames (other
                # lengths come out wrong); the TorchScript-based one writes ONNX's own GRU/LSTM, for any length
                torch.onnx.export(model, (x,), str(path / 'model.onnx'), input_names=['waveform'],
                                  output_names=['probabilities'], dynamic_axes={'waveform': {x.ndim - 1: 'samples'}},
                                  dynamo=False, opset_version=18)
            else:
                torch.onnx.export(model, (x,), str(path / 'model.onnx'), input_names=['waveform'],
                                  output_names=['probabilities'], dynamic_shapes=dynamic, dynamo=True, opset_version=18,
                                  external_data=False, verbose=False)   # one file
    if 'pt2' in formats:
        with _names_the_format('pt2', model, formats):
            torch.export.save(torch.export.export(copy.deepcopy(model).eval(), (x,), dynamic_shapes=dynamic),
                              str(path / 'model.pt2'))
    if 'web' in formats: write_web_page(path, config)
    _readable_by_all(path)
    return path


@contextlib.contextmanager
def _names_the_format(fmt: str, model: nn.Module, formats):
    "A network torch.export cannot trace (some Hugging Face encoders) fails naming the format and the way round."
    try: yield
    except Exception as e:
        if isinstance(e, (KeyboardInterrupt, MemoryError)): raise
        net = type(getattr(model, 'net', model)).__name__
        others = tuple(f for f in formats if f not in ('onnx', 'pt2', 'web')) or ('safetensors', 'torchscript')
        raise RuntimeError(f'export to {fmt}: torch.export cannot trace this {net} ({type(e).__name__}: '
                           f'{str(e).strip().splitlines()[0][:200]}); export the other formats with '
                           f'formats={others!r}') from e


def _readable_by_all(folder: Path):
    """Give the exported files the mode a new file gets under the umask (0644 under the usual 022): safetensors
    writes through a private (0600) temporary file, and the folder is meant to be shared."""
    mode = _new_file_mode(folder)
    for f in folder.iterdir():
        if f.is_file(): f.chmod(mode)


def _new_file_mode(folder: Path) -> int:
    """The permission bits of a file newly created in `folder` (0o666 less the umask): the umask as the kernel
    reports it in /proc/self/status (Linux), else the mode of a probe file made and removed there. Never through
    `os.umask`, which reads the mask only by setting it, for every thread of the process."""
    try:
        for line in Path('/proc/self/status').read_text().splitlines():
            if line.startswith('Umask:'): return 0o666 & ~int(line.split()[1], 8)
    except OSError: pass
    probe = folder / f'.mode-probe-{os.getpid()}'
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try: return os.fstat(fd).st_mode & 0o777
    finally:
        os.close(fd)
        probe.unlink()


def _to_torchscript(model: nn.Module, traced: dict):
    "Script `model` after tracing the submodules named in `traced` on their example inputs."
    m = copy.deepcopy(model).eval()
    with warnings.catch_warnings():              # torch >= 2.10 marks TorchScript deprecated; it still loads anywhere
        warnings.simplefilter('ignore', FutureWarning)
        for name, x in traced.items():
            parent, _, attr = name.rpartition('.')
            owner = m.get_submodule(parent) if parent else m
            with torch.no_grad(): setattr(owner, attr, torch.jit.trace(getattr(owner, attr), x, check_trace=False))
        return torch.jit.script(m)


def arch_config(learn_or_model) -> dict | None:
    """How `build_network` rebuilds a learner's network.

    Parameters
    ----------
    learn_or_model : AudioLearner or nn.Module
        A learner, or a bare network.

    Returns
    -------
    dict or None
        `learn.spec.network` for a learner. Given a bare module, what `describe_network` can tell without the
        learner (a timm body; a torchvision body's name is known only to the learner that built it).
    """
    if isinstance(learn_or_model, nn.Module): return describe_network(learn_or_model)
    return learn_or_model.spec.network
