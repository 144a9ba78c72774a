"""Sound event detection with fastai: `sed_learner` (a frame-level model on `sed_dataloaders`), events out of a
file or a folder, and event- and segment-based F1 as fastai metrics.

    learn = sed_learner(dls, resnet18, pretrained=False)
    learn.fit_one_cycle(10, 1e-3)
    learn.predict_events('recording.wav')       # DataFrame: filename, onset, offset, event_label, score
    export_sed_model(learn, 'detector/')         # waveform in, frame probabilities out: load_exported, no fastai
"""
from __future__ import annotations

from pathlib import Path

import torch
from fastai.learner import Learner, Metric
from fastai.vision.learner import create_body
from fastprogress.fastprogress import progress_bar

from .record import TrainingLog
from .share import Shareable
from ..core import get_audio_files, load_audio
from ..runtime.events import (GATE_DB, Event, check_event_format, decode_events, event_scores, frame_grid, psds,
                              segment_scores, write_event_tables)
from .learner import LEARNER_ARGUMENTS, LEARNER_PARAMETERS_DOC, SPEED_OPTIONS, speed_options
from .progress import set_progress
from ..runtime.arguments import check_keywords, keyword_names
from ..data.loading import audio_loader_of
from ..backbones.sed import FrameClassifier, SEDLoss, describe_frame_classifier, limit_time_stride
from ..runtime.functional import gate_frames, resample_batch
from ..serving.detector import FrameDetector, SEDSpec, decoding_settings, frame_detector
from ..data.sed import FrameTargets

__all__ = ['SEDLearner', 'sed_learner', 'EventF1', 'PSDS', 'export_sed_model']


def _frame_grid(x):
    "(seconds a frame, time of frame 0) of a spectrogram batch, from the front end that made it."
    fe = getattr(x, 'settings', None)
    if fe is None: raise ValueError('sound event detection needs spectrogram batches (their front end sets the frame times)')
    return frame_grid(fe.hop_length, fe.sample_rate, center=fe.center, n_fft=fe.n_fft)


def _strong_clips(x, pred, y, first: int = 0) -> list:
    """The strongly labelled clips of a batch as (name, frame probabilities `(frames, classes)`, reference events,
    seconds): the reference decoded from the frame targets, names counted from `first`; weakly labelled clips
    (targets -1) are left out: there are no onsets to score against."""
    step, start = _frame_grid(x)
    probs = torch.sigmoid(pred).detach().float().cpu()
    targets = y.as_subclass(torch.Tensor).detach().float().cpu()
    classes = [str(c) for c in range(probs.shape[-1])]
    out = []
    for p, t in zip(probs, targets):
        if bool((t < 0).any()): continue
        name = str(first + len(out))
        out.append((name, p, decode_events(t, classes, step, threshold=0.5, filename=name, start=start), step * len(p)))
    return out


class EventF1(Metric):
    """F1 of the events decoded from the frame probabilities against those of the frame targets.

    Over the validation set, micro-averaged (pooled counts); weakly labelled clips (targets -1) are not scored.

    Parameters
    ----------
    kind : {'event', 'segment'}
        'event' (default: onset collar 200 ms, offset max(200 ms, 20%)) or 'segment' (1 s segments).
    threshold : float
        Probability over which a frame is active (default 0.5); see `events.decode_events`.
    median : int
        Odd width in frames of a median filter on the active/inactive decisions (default 1: none); see
        `events.decode_events`.

    Raises
    ------
    ValueError
        For a `kind` other than 'event' or 'segment'.
    """
    def __init__(self, kind: str = 'event', *, threshold: float = 0.5, median: int = 1):
        if kind not in ('event', 'segment'): raise ValueError(f"kind must be 'event' or 'segment', got {kind!r}")
        self.kind, self.threshold, self.median = kind, threshold, median

    def reset(self): self.ref, self.est, self.n = [], [], 0

    def accumulate(self, learn):
        step, start = _frame_grid(learn.xb[0])
        clips = _strong_clips(learn.xb[0], learn.pred[0], learn.y, self.n)
        self.n += len(clips)
        classes = [str(c) for c in range(learn.pred[0].shape[-1])]
        for name, p, ref, _ in clips:
            self.ref += ref
            self.est += decode_events(p, classes, step, threshold=self.threshold, median=self.median, filename=name, start=start)

    @property
    def value(self):
        return (event_scores if self.kind == 'event' else segment_scores)(self.ref, self.est)['f1_micro']

    @property
    def name(self): return f'{self.kind}_f1'


class PSDS(Metric):
    """The polyphonic sound detection score of the validation set (`events.psds`), threshold-free.

    The frame probabilities are decoded at `thresholds` (the operating points); weakly labelled clips are not
    scored. The defaults are DCASE's scenario 1.

    Parameters
    ----------
    thresholds : sequence of float
        The operating points (default 0.05, 0.10, ... 0.95).
    dtc, gtc, cttc : float
        The tolerance criteria of `events.psds` (defaults 0.7, 0.7, 0.3).
    alpha_ct, alpha_st : float
        The weights of cross-triggers and of the spread across classes (defaults 0.0, 1.0).
    max_efpr : float, optional
        Where the area stops, false positives per hour (default 100.0).
    """
    def __init__(self, thresholds=tuple(round(0.05 * i, 2) for i in range(1, 20)), *, dtc: float = 0.7,
                 gtc: float = 0.7, cttc: float = 0.3, alpha_ct: float = 0.0, alpha_st: float = 1.0,
                 max_efpr: float | None = 100.0):
        self.thresholds = tuple(thresholds)
        self.settings = dict(dtc=dtc, gtc=gtc, cttc=cttc, alpha_ct=alpha_ct, alpha_st=alpha_st, max_efpr=max_efpr)

    def reset(self): self.clips, self.grid = [], None

    def accumulate(self, learn):
        self.grid = _frame_grid(learn.xb[0])
        self.clips += _strong_clips(learn.xb[0], learn.pred[0], learn.y, len(self.clips))

    @property
    def value(self):
        refs = [e for _, _, ref, _ in self.clips for e in ref]
        if not refs: return float('nan')
        step, start = self.grid
        classes = [str(c) for c in range(self.clips[0][1].shape[-1])]
        ops = [[e for name, p, _, _ in self.clips
                for e in decode_events(p, classes, step, threshold=t, filename=name, start=start)] for t in self.thresholds]
        return psds(refs, ops, {name: secs for name, _, _, secs in self.clips}, **self.settings)

    @property
    def name(self): return 'psds'


class SEDLearner(Shareable, Learner):
    """A `Learner` on a `FrameClassifier`, with events out (`predict_events`, `predict_events_folder`).

    `spec` says what the trained model needs to be used, as `AudioLearner.spec` does. Build it with
    `sed_learner`; the constructor is fastai's `Learner`'s. `gate_db` (default `GATE_DB`, -60 dB re full scale;
    None: off) is the level gate of `predict_events`, `show_events` and the exported detector: frames at or below
    it are no event. `decoding` is what `tune_decoding` chose (None until then).

    Parameters
    ----------
    dls : DataLoaders
        Loaders of (spectrogram, frame targets), e.g. from `sed_dataloaders`.
    model : nn.Module
        The `FrameClassifier`.
    """

    __doc__ = __doc__.rstrip() + '\n' + LEARNER_PARAMETERS_DOC      # fastai's Learner arguments, described once

    @property
    def spec(self) -> SEDSpec:
        """The `SEDSpec` of this learner: the front end its validation batches go through, the classes and how
        to rebuild the network. Described from the DataLoaders and the model as they are when read; an exported
        detector's config.json is its `to_dict()`."""
        from .learner import front_end_of
        return SEDSpec(front_end_of(self.dls), tuple(map(str, self.dls.vocab)),
                       describe_frame_classifier(self.model, getattr(self, 'arch_name', None)),
                       gate_db=getattr(self, 'gate_db', GATE_DB), decoding=getattr(self, 'decoding', None))

    def served_model(self):
        """This learner as the `FrameDetector` its export holds (`detector()`).

        Returns
        -------
        FrameDetector
            In eval mode, on the CPU.
        """
        return self.detector()

    def _spectrogram(self, path):
        """One file decoded as the loaders decode it: (waveform batch of one, its spectrogram through the
        validation front end)."""
        loader = audio_loader_of(self.dls.valid_ds)
        wave = load_audio(path, sr=loader.sr, mono=loader.mono)[None].to(self.dls.device)
        return wave, self.dls.valid.after_batch(wave)            # FrameTargets passes a batch without targets

    def _frame_probs(self, x, wave=None) -> torch.Tensor:
        """Frame probabilities `(batch, frames, classes)` of the spectrogram batch `x`, on the CPU; with the
        waveforms `wave`, frames at or below the level gate are 0 (as the exported detector's)."""
        self.model.eval()
        with torch.no_grad(): frame_logits, _ = self.model(x)
        probs = torch.sigmoid(frame_logits).float().cpu()
        gate = getattr(self, 'gate_db', GATE_DB)
        if wave is None or gate is None: return probs
        fe, w = x.settings, wave.as_subclass(torch.Tensor).float().cpu()
        if getattr(wave, 'sr', fe.sample_rate) != fe.sample_rate: w = resample_batch(w, wave.sr, fe.sample_rate)
        return gate_frames(probs, w, fe.n_fft, fe.hop_length, fe.center, gate)

    def _events(self, x, probs, path, threshold=None, low=None, median=None, min_duration: float = 0.0,
                min_gap: float = 0.0, duration: float | None = None):
        import pandas as pd
        step, start = _frame_grid(x)
        threshold, median = decoding_settings(getattr(self, 'decoding', None), threshold, median)
        ev = decode_events(probs, list(map(str, self.dls.vocab)), step, threshold=threshold, low=low, median=median,
                           min_duration=min_duration, min_gap=min_gap, filename=Path(path).name, start=start,
                           duration=duration)
        return pd.DataFrame(ev, columns=['filename', 'onset', 'offset', 'event_label', 'score'])

    def frame_probs(self, path) -> torch.Tensor:
        """The frame probabilities of one file, `(frames, classes)` on the CPU, as the exported detector gives them
        (frames at or below the level gate `gate_db` are 0); frame i stands for `spec.frame_grid`'s time i.

        Parameters
        ----------
        path : str or Path
            The audio file, decoded as the loaders decode their items.

        Returns
        -------
        torch.Tensor
            `(frames, classes)` probabilities.
        """
        wave, x = self._spectrogram(path)
        return self._frame_probs(x, wave)[0]

    def predict_events(self, path, threshold=None, low=None, median=None, min_duration: float = 0.0,
                       min_gap: float = 0.0):
        """The events of one file, never past its end; none where it is at or below the level gate `gate_db`.

        Parameters
        ----------
        path : str or Path
            The audio file, decoded as the loaders decode their items.
        threshold : float or sequence of float, optional
            A frame is active above it; may be one per class (default None: the tuned decoding, `decoding`, else
            0.5). See `events.decode_events` for the settings.
        low : float or sequence of float, optional
            Hysteresis, below `threshold`: an event lasts while the probability stays above it (default None:
            none); may be one per class.
        median : int or sequence of int, optional
            Odd width in frames of a median filter on the active/inactive decisions, may be one per class (default
            None: the tuned decoding, else 1: none).
        min_duration : float
            Events shorter than this (seconds) are dropped, after merging (default 0.0).
        min_gap : float
            Events of one class closer than this (seconds) merge (default 0.0).

        Returns
        -------
        pandas.DataFrame
            `filename, onset, offset, event_label, score`, one row an event.
        """
        wave, x = self._spectrogram(path)
        return self._events(x, self._frame_probs(x, wave)[0], path, threshold, low, median, min_duration, min_gap,
                            duration=wave.shape[-1] / wave.sr)

    def show_events(self, path, reference=None, figsize=(9, 6), **decode_kwargs):
        """One file's spectrogram, above its event roll and the frame probabilities of each class over time.

        Parameters
        ----------
        path : str or Path
            The audio file.
        reference : list of events, optional
            Events drawn in grey in the roll (one row per class), e.g. from `read_events`, whose filename is the
            file's name or the end of its path (default None); predicted ones are in colour.
        figsize : tuple of float
            Figure size in inches (default (9, 6)).
        **decode_kwargs
            Go to `predict_events`.

        Returns
        -------
        tuple of matplotlib.axes.Axes
            The three axes.
        """
        import matplotlib.pyplot as plt
        wave, x = self._spectrogram(path)                          # decoded and run once, for all three panels
        probs = self._frame_probs(x, wave)[0]
        found = self._events(x, probs, path, duration=wave.shape[-1] / wave.sr, **decode_kwargs)
        parts = Path(path).resolve().parts                 # a reference names the file, or its path under a root
        ref = [e for e in reference or [] if parts[-len(Path(str(e.filename)).parts):] == Path(str(e.filename)).parts]
        fig, axes = plt.subplots(3, 1, figsize=figsize, sharex=True, layout='constrained',
                                 gridspec_kw=dict(height_ratios=(3, 1.2, 1.5)))
        self._draw(axes, x, probs, ref, list(found.itertuples()))
        return tuple(axes)

    def show_results(self, ds_idx: int = 1, max_n: int = 4, figsize=None, **decode_kwargs):
        """The first `max_n` clips of a set, each as its spectrogram above its event roll.

        The roll shows its reference events (from its frame targets, grey) and the predicted ones (colour), as
        `show_events` draws one file.

        Parameters
        ----------
        ds_idx : int
            1 (default): the validation set; 0: training.
        max_n : int
            Clips shown (default 4).
        figsize : tuple of float, optional
            Figure size in inches (default None: (9, 4 per clip)).
        **decode_kwargs
            Go to `events.decode_events` (`threshold` 0.5 unless given).

        Returns
        -------
        numpy.ndarray of matplotlib.axes.Axes
            The axes `(n, 2)`, n = max_n or fewer when the set is smaller.
        """
        import matplotlib.pyplot as plt
        dl = self.dls[ds_idx].new(shuffle=False, drop_last=False, bs=max_n)
        x, y = dl.one_batch()[:2]
        probs, y = self._frame_probs(x), y.as_subclass(torch.Tensor).float().cpu()
        step, start = _frame_grid(x)
        vocab = list(map(str, self.dls.vocab))
        n = min(max_n, len(x))
        fig, axes = plt.subplots(2 * n, 1, figsize=figsize or (9, 4 * n), sharex=True, layout='constrained',
                                 gridspec_kw=dict(height_ratios=(3, 1.2) * n))
        for i in range(n):
            name = Path(dl.items[i]).name
            ref = decode_events(y[i].clamp_min(0), vocab, step, threshold=0.5, filename=name, start=start)
            est = decode_events(probs[i], vocab, step, **{'threshold': 0.5, **decode_kwargs}, filename=name, start=start)
            self._draw(axes[2 * i:2 * i + 2], x[i:i + 1], None, ref, est)
            axes[2 * i].set_title(name, fontsize='small')
        return axes.reshape(n, 2)

    def _draw(self, axes, x, probs, reference, found):
        """Spectrogram `x` (a batch of one) on axes[0], the event roll (reference in grey, found in colour) on
        axes[1], and the frame probabilities `(frames, classes)` on axes[2] when `probs` is given."""
        step, start = _frame_grid(x)
        vocab = list(map(str, self.dls.vocab))
        x[0].cpu().show(ctx=axes[0])
        axes[0].set_xlabel('')
        for k, label in enumerate(vocab):
            ref = [(e.onset, e.offset - e.onset) for e in reference if e.event_label == label]
            if ref: axes[1].broken_barh(ref, (k - 0.45, 0.4), color='0.6')
            est = [(e.onset, e.offset - e.onset) for e in found if e.event_label == label]
            if est: axes[1].broken_barh(est, (k + 0.05, 0.4), color=f'C{k % 10}')
        axes[1].set_yticks(range(len(vocab)), vocab)
        axes[1].set_ylim(-0.6, len(vocab) - 0.4)
        axes[1].set_xlim(start, start + step * x.shape[-1])
        from matplotlib.patches import Patch
        axes[1].legend(handles=[Patch(color='0.6', label='reference (lower bar)'),
                                Patch(color='C0', label='predicted (upper bar, colour of its class)')],
                       fontsize='x-small', loc='upper left', bbox_to_anchor=(1.0, 1.0), borderaxespad=0.2)
        if probs is None:
            axes[1].set_xlabel('time (s)')
            return
        t = start + step * torch.arange(len(probs))
        for k, label in enumerate(vocab): axes[2].plot(t.numpy(), probs[:, k].numpy(), color=f'C{k % 10}', label=label)
        axes[2].set_ylim(0, 1)
        axes[2].set_xlabel('time (s)')
        axes[2].set_ylabel('probability')
        axes[2].legend(fontsize='x-small', loc='upper left', bbox_to_anchor=(1.0, 1.0), borderaxespad=0.2)

    def tune_decoding(self, metric: str = 'event', thresholds=tuple(round(0.1 * i, 1) for i in range(1, 10)),
                      medians=(1, 3, 5, 9, 15)):
        """Choose each class's threshold and median-filter width on the validation set, and keep them.

        For each class the pair of `thresholds` x `medians` with the best F1 of that class (`metric`: event-based,
        onsets within 200 ms and offsets within max(200 ms, 20%), or segment-based, 1 s segments; ties go to the
        threshold nearest 0.5, then the narrower filter) is kept in `decoding`, which `predict_events`,
        `show_events`, `spec` and the exported detector (`FrameDetector.events`) then use by default. Weakly
        labelled validation clips are not scored.

        Parameters
        ----------
        metric : {'event', 'segment'}
            The F1 maximised (default 'event').
        thresholds : sequence of float
            Candidate thresholds (default 0.1, 0.2, ... 0.9).
        medians : sequence of int
            Candidate odd median-filter widths in frames (default 1, 3, 5, 9, 15).

        Returns
        -------
        pandas.DataFrame
            One row a class: event_label, threshold, median, f1 (tuned), f1_default (threshold 0.5, no filter).

        Raises
        ------
        ValueError
            For an unknown `metric`, an even median width, or a validation set without strongly labelled clips.
        """
        import pandas as pd
        if metric not in ('event', 'segment'): raise ValueError(f"metric must be 'event' or 'segment', got {metric!r}")
        bad = [m for m in medians if m < 1 or m % 2 == 0]
        if bad: raise ValueError(f'median widths must be odd and >= 1, got {bad}')
        clips, grid = [], None
        self.model.eval()
        with torch.no_grad():
            for xb, yb in self.dls.valid.new(shuffle=False, drop_last=False):
                grid = _frame_grid(xb)
                clips += _strong_clips(xb, self.model(xb)[0], yb, len(clips))
        if not clips: raise ValueError('tune_decoding needs strongly labelled validation clips')
        step, start = grid
        durations = {name: secs for name, _, _, secs in clips}
        score = event_scores if metric == 'event' else lambda r, e: segment_scores(r, e, durations=durations)  # noqa: E731
        vocab = list(map(str, self.dls.vocab))
        rows, chosen = [], {'threshold': [], 'median': []}
        for c, label in enumerate(vocab):
            ref = [e for _, _, r, _ in clips for e in r if e.event_label == str(c)]

            def f1(t, m):
                est = [e for name, p, _, _ in clips for e in
                       decode_events(p[:, c:c + 1], [str(c)], step, threshold=t, median=m, filename=name, start=start)]
                return score(ref, est)['per_class'].get(str(c), {'f1': 1.0 if not est else 0.0})['f1'] if ref or est else 1.0
            tried = {(t, m): f1(t, m) for t in thresholds for m in medians}
            best = max(tried, key=lambda k: (tried[k], -abs(k[0] - 0.5), -k[1]))
            chosen['threshold'].append(float(best[0]))
            chosen['median'].append(int(best[1]))
            rows.append((label, best[0], best[1], tried[best], tried[0.5, 1] if (0.5, 1) in tried else f1(0.5, 1)))
        table = pd.DataFrame(rows, columns=['event_label', 'threshold', 'median', 'f1', 'f1_default'])
        self.decoding = {**chosen, 'metric': metric, 'f1': dict(zip(vocab, table.f1.round(4).tolist()))}
        return table

    def detector(self) -> FrameDetector:
        """This learner as a `FrameDetector`, with the front end its validation batches go through.

        Returns
        -------
        FrameDetector
            Waveform in, frame probabilities out; a copy of the network, on the CPU, in eval mode.

        Raises
        ------
        ValueError
            For a transform of your own on validation batches, which the detector cannot carry (naming it).
        """
        import copy
        from .learner import foreign_transforms
        foreign = [n for n in foreign_transforms(self.dls) if n != FrameTargets.__name__]
        if foreign: raise ValueError(f'cannot export: the pipeline applies {", ".join(foreign)} to validation batches, '
                                     'which the waveform-in detector cannot reproduce')
        spec = self.spec
        spec.front_end.check_servable('export')
        det = frame_detector(spec, copy.deepcopy(self.model).eval().cpu())
        det.config = spec.to_dict()
        return det

    def predict_events_folder(self, folder, csv=None, *, format: str = 'csv', out=None, **kwargs):
        """`predict_events` for every audio file under `folder`, with a progress bar, optionally written out.

        Parameters
        ----------
        folder : str or Path
            The folder searched for audio files.
        csv : str or Path, optional
            Also write the table there as a CSV (default None; the same as `format='csv', out=csv`).
        format : {'csv', 'raven', 'audacity'}
            What `out` gets (default 'csv'): one CSV of all files, or for 'raven' (selection tables, 0 Hz to half
            the sample rate) and 'audacity' (label tracks) one table per audio file, named by
            `events.event_table_name` under `out` at the file's path under `folder` (files without events too).
        out : str or Path, optional
            The CSV file, or the folder of the per-file tables (default None: nothing written).
        **kwargs
            The settings of `predict_events`.

        Returns
        -------
        pandas.DataFrame
            The events of all files, each file named by its path under `folder`.

        Raises
        ------
        ValueError
            For an unknown `format`, or `csv` given with another format.
        """
        import pandas as pd
        if csv is not None:
            if format != 'csv': raise ValueError(f"csv= writes a CSV: give out= for format={format!r}")
            out = csv
        check_event_format(format)                              # an unknown format fails before any work
        folder = Path(folder)
        files = get_audio_files(folder)
        tables = {}
        for f in progress_bar(files):                           # named under `folder`: sub-folders may share names
            rel = Path(f).relative_to(folder).as_posix()
            tables[rel] = self.predict_events(f, **kwargs).assign(filename=rel)
        df = pd.concat(list(tables.values()) or [pd.DataFrame(columns=['filename', 'onset', 'offset', 'event_label', 'score'])],
                       ignore_index=True)
        if out is not None:
            write_event_tables({rel: [Event(*r) for r in t.itertuples(index=False)] for rel, t in tables.items()}, out,
                               format, high_freq=self.spec.front_end.sample_rate / 2)
        return df


def sed_learner(dls, arch, *, pretrained: bool = True, n_in: int = 1, pool: str = 'linear_softmax', loss_func=None,
                metrics=None, frame_weight: float = 1.0, clip_weight: float = 1.0, time_stride: int | None = 8,
                temporal: str = 'conv', gate_db: float | None = GATE_DB, progress: str = 'auto', **kwargs) -> SEDLearner:
    """A `SEDLearner`: a network's body under a `FrameClassifier` head for `dls.c` classes.

    Parameters
    ----------
    dls : DataLoaders
        Loaders of (spectrogram, frame targets), from `sed_dataloaders`.
    arch : callable or nn.Module
        A torchvision architecture, cut to its body (`create_body`, first convolution adapted to `n_in`
        channels), or a ready `nn.Module` body giving feature maps.
    pretrained : bool
        Load the architecture's pretrained weights and freeze the body, as vision learners do (default True).
    n_in : int
        Input channels of the body (default 1).
    pool : str
        The head's clip pooling (default 'linear_softmax').
    loss_func : callable, optional
        Default None: `SEDLoss(frame_weight, clip_weight)`.
    metrics : list, optional
        Default None: event- and segment-based F1 (`EventF1`).
    frame_weight : float
        Weight of the frame loss in `SEDLoss` (default 1.0).
    clip_weight : float
        Weight of the clip loss in `SEDLoss` (default 1.0).
    time_stride : int, optional
        The most the body may shrink time (`sed.limit_time_stride`; default 8 frames, of 16 ms at the default
        hop; None keeps the architecture's 32), for onsets within the 200 ms collar.
    temporal : {'conv', 'gru'}
        The head's temporal layer: 'conv' (default, a 3-tap convolution) or 'gru' (a bidirectional GRU over the
        frames after the CNN body: a CRNN, as the DCASE baseline); see `FrameClassifier`.
    gate_db : float or None
        The level gate of `predict_events` and the exported detector: frames at or below this level (dB re full
        scale) are no event (default `GATE_DB`, -60 dB; None: no gate).
    progress : {'auto', 'bar', 'lines'}
        'auto' (default: bars on a terminal or in a notebook, one plain line an epoch to a file or a pipe),
        'bar' or 'lines' (`set_progress`).
    **kwargs
        Other arguments go to `Learner` (and `mixed_precision`, `channels_last`, `compile` as for
        `audio_learner`).

    Returns
    -------
    SEDLearner
        The learner.

    Raises
    ------
    TypeError
        For a keyword none of them takes, naming the nearest known one, raised before the body is built or its
        weights downloaded.

    Examples
    --------
    >>> learn = sed_learner(dls, resnet18, pretrained=False)     # doctest: +SKIP
    >>> learn.fit_one_cycle(10, 1e-3)                            # doctest: +SKIP
    >>> learn.predict_events('recording.wav')                    # doctest: +SKIP
    """
    check_keywords(kwargs, 'sed_learner', keyword_names(sed_learner) | set(LEARNER_ARGUMENTS) | set(SPEED_OPTIONS))
    speed = {k: kwargs.pop(k) for k in SPEED_OPTIONS if k in kwargs}
    body = arch if isinstance(arch, torch.nn.Module) else create_body(arch(), n_in=n_in, pretrained=pretrained)
    if time_stride is not None: limit_time_stride(body, time_stride)
    model = FrameClassifier(body, dls.c, pool=pool, temporal=temporal)
    model.time_stride = time_stride
    learn = SEDLearner(dls, model, loss_func=loss_func or SEDLoss(frame_weight, clip_weight),
                       metrics=[EventF1('event'), EventF1('segment')] if metrics is None else metrics,
                       splitter=kwargs.pop('splitter', FrameClassifier.splitter), **kwargs)
    learn.arch_name = None if isinstance(arch, torch.nn.Module) else getattr(arch, '__name__', None)
    learn.gate_db, learn.decoding = gate_db, None
    if pretrained and not isinstance(arch, torch.nn.Module): learn.freeze()
    learn.add_cb(TrainingLog())                    # what the model card says of training
    return set_progress(speed_options(learn, **speed), progress)


def export_sed_model(learn: SEDLearner, path, formats=('safetensors', 'torchscript', 'onnx')) -> Path:
    """Write `learn` as a waveform-in sound event detector (`SEDLearner.detector`) to folder `path`.

    The detector takes a waveform `(samples,)` of any length at the front end's rate and gives frame
    probabilities `(frames, classes)`. config.json is `learn.spec.to_dict()`: the front end, the classes and the
    frame grid (`frame_seconds`, `start`), what `events.decode_events` needs to turn the probabilities of
    model.ts or model.onnx into events.

    Parameters
    ----------
    learn : SEDLearner
        The trained learner.
    path : str or Path
        The folder written.
    formats : sequence of str
        As `export_waveform_model` (default 'safetensors', 'torchscript', 'onnx'), but for 'web': the page shows
        class probabilities, not frames. 'safetensors' loads with `load_exported`, whose detector's `events()`
        decodes them; model.onnx's output 'probabilities' is `(frames, classes)`.

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    ValueError
        When the validation pipeline holds a transform the detector cannot carry (see `SEDLearner.detector`),
        for an unknown format, or for 'web'.
    """
    from ..serving.export import learner_facts, save_waveform_model
    det = learn.detector()
    wave = torch.zeros(det.channels, det.sample_rate * 2)
    with torch.no_grad(): x = det.front_end(wave[None])
    return save_waveform_model(det, path, det.config, formats=formats, traced={'front_end': wave[None], 'net': x},
                               training=learner_facts(learn))


SEDLearner.exporter = staticmethod(export_sed_model)      # `export_model` (`Shareable`)
