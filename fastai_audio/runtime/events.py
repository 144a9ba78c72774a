"""Sound events: strong labels as frame targets, frame probabilities decoded into events, and the DCASE metrics.

Torch and the standard library only (no fastai, no pandas), so a served model decodes its own events.

An event is `Event(filename, onset, offset, event_label, score)`, times in seconds. Frame `i` of a front end
stands for the instant `frame_time(i)` (its window's centre: `i * hop / sr`, plus half a window when the STFT
is not centred), so targets made here line up with the spectrogram frames whatever the front end.

    targets = event_targets(events_of_one_file, n_frames, vocab, hop_length=256, sr=16000)
    found = decode_events(probs, vocab, frame_seconds=256 / 16000, threshold=0.5, median=7, min_duration=0.1)
    segment_scores(reference, found)['f1_micro'];  event_scores(reference, found)['f1_macro']
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import torch
from .arguments import renamed_parameters

__all__ = ['Event', 'GATE_DB', 'frame_times', 'frame_grid', 'frame_activity', 'event_targets', 'move_events', 'decode_events', 'median_filter',
           'segment_scores', 'event_scores', 'psds', 'EVENT_FORMATS', 'event_table_name', 'write_events',
           'write_event_tables']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('check_event_format',)


#: the level gate's default, dB re full scale (`functional.level_db`): a frame or window at or below it is no event,
#: whatever a network makes of it (a silent window in dB referenced to its own peak looks like a loud flat sound)
GATE_DB = -60.0


class Event(NamedTuple):
    """One sound event: where, when, what, and how sure.

    A `NamedTuple`, so it unpacks, compares and sorts as a tuple.

    Parameters
    ----------
    filename : str
        The file it was heard in.
    onset : float
        Start, in seconds from the start of the file.
    offset : float
        End, in seconds (after `onset`).
    event_label : str
        The class.
    score : float
        How sure: 1.0 for a reference event (the default), the peak probability for a decoded one.
    """
    filename: str
    onset: float
    offset: float
    event_label: str
    score: float = 1.0


@renamed_parameters(sample_rate='sr')
def frame_times(n_frames: int, hop_length: int, sr: int, *, center: bool = True, n_fft: int = 0) -> torch.Tensor:
    """The instant, in seconds, that each frame of a front end stands for: the centre of its window.

    Parameters
    ----------
    n_frames : int
        Number of frames.
    hop_length : int
        Samples between frames.
    sr : int
        Sample rate in Hz.
    center : bool
        Whether the STFT pads half a window at each end (default True, librosa's and this package's default):
        frame i stands for `i * hop_length / sr`; False: half a window later.
    n_fft : int
        Window length in samples; only read when `center=False` (default 0).

    Returns
    -------
    torch.Tensor
        Shape `(n_frames,)`, float64 seconds.

    Examples
    --------
    >>> frame_times(3, hop_length=160, sr=16000).tolist()
    [0.0, 0.01, 0.02]
    """
    offset = 0.0 if center else n_fft / 2
    return (torch.arange(n_frames, dtype=torch.float64) * hop_length + offset) / sr


@renamed_parameters(sample_rate='sr')
def frame_grid(hop_length: int, sr: int, *, center: bool = True, n_fft: int = 0) -> tuple[float, float]:
    """The step and start of `frame_times` for a front end.

    Parameters
    ----------
    hop_length : int
        Samples between frames.
    sr : int
        Sample rate in Hz.
    center : bool
        Whether the STFT is centred (default True).
    n_fft : int
        Window length in samples; only read when `center=False` (default 0).

    Returns
    -------
    tuple of float
        (seconds between frames, seconds frame 0 stands for).
    """
    t = frame_times(2, hop_length, sr, center=center, n_fft=n_fft)
    return float(t[1] - t[0]), float(t[0])


@renamed_parameters(sample_rate='sr')
def event_targets(events, n_frames: int, vocab, hop_length: int, sr: int, *, center: bool = True,
                  n_fft: int = 0) -> torch.Tensor:
    """Frame targets of one file's events: 1 where a frame lies in an event of that class, else 0.

    A frame belongs to an event when its time (`frame_times`) lies in `[onset, offset)`.

    Parameters
    ----------
    events : iterable
        Objects with `onset`, `offset` (seconds) and `event_label`, e.g. `Event`.
    n_frames : int
        Number of frames of the file's spectrogram.
    vocab : sequence
        The classes, in column order (compared as strings).
    hop_length : int
        Samples between frames.
    sr : int
        Sample rate in Hz.
    center : bool
        Whether the STFT is centred (default True).
    n_fft : int
        Window length in samples; only read when `center=False` (default 0).

    Returns
    -------
    torch.Tensor
        Shape `(n_frames, len(vocab))`, float 0/1.

    Raises
    ------
    ValueError
        Naming a label outside `vocab`.
    """
    t = frame_times(n_frames, hop_length, sr, center=center, n_fft=n_fft)
    index = {str(v): i for i, v in enumerate(vocab)}
    for e in events:
        if str(e.event_label) not in index:
            raise ValueError(f'event label {e.event_label!r} is not in the vocabulary {list(index)}')
    rows = [(e.onset, e.offset, index[str(e.event_label)]) for e in events]
    ev = torch.tensor(rows, dtype=torch.float64).reshape(len(rows), 3)
    return frame_activity(t, ev[:, 0], ev[:, 1], ev[:, 2].long(), len(index)).float()


def frame_activity(times: torch.Tensor, onsets: torch.Tensor, offsets: torch.Tensor, classes: torch.Tensor,
                   n_classes: int) -> torch.Tensor:
    """Which frames each event covers: the frame-target rule, written once.

    Read by `event_targets` and the SED loaders' `FrameTargets`: frame `f` is active for class `c` when its time
    `times[f]` lies in `[onset, offset)` of an event of class `c`. Nothing is read back to the host.

    Parameters
    ----------
    times : torch.Tensor
        `(frames,)` seconds, the time each frame stands for (`frame_times`).
    onsets, offsets : torch.Tensor
        `(..., events)` seconds, each event's start and end.
    classes : torch.Tensor
        `(..., events)` long class indices; a negative index is no event (padding).
    n_classes : int
        Number of classes.

    Returns
    -------
    torch.Tensor
        `(..., frames, n_classes)` of 0 / 1, in the dtype of `times` and on its device.
    """
    inside = (times >= onsets[..., None]) & (times < offsets[..., None]) & (classes[..., None] >= 0)
    onehot = torch.nn.functional.one_hot(classes.clamp_min(0), n_classes).to(times.dtype)
    return torch.einsum('...ef,...ec->...fc', inside.to(times.dtype), onehot).clamp(max=1.0)


def move_events(events: torch.Tensor, length: float, *, scale=1.0, shift=0.0, reverse: bool = False,
                wrap: bool = False) -> torch.Tensor:
    """Where a clip's events are after its audio was moved in time: the event rule of the time-changing augmentations.

    Each strong event's onset and offset `t` go to `(length - t if reverse else t) * scale + shift`, then are cut
    to the clip, `[0, length]`; an event left with nothing inside becomes a padding row. With `wrap`, the part
    pushed past one end comes back at the other (a roll), so the result has twice the rows: the moved events,
    then the wrapped pieces. Rows with a negative onset (weak labels, which say nothing about time) or a negative
    class (padding) pass unchanged. On the events' device; nothing is read back to the host.

    Parameters
    ----------
    events : torch.Tensor
        `(batch, events, 3)`: onset and offset in seconds, class index (negative: padding).
    length : float
        The clip's length in seconds (the padded batch's length: the audio and its events move within it).
    scale : float or torch.Tensor
        Times are multiplied by it, a number or one per clip `(batch,)` (default 1.0; a clip played `r` times
        faster has scale `1 / r`).
    shift : float or torch.Tensor
        Seconds added after scaling, a number or one per clip `(batch,)` (default 0.0; negative: earlier).
    reverse : bool
        Mirror the clip first (played backwards; default False).
    wrap : bool
        Bring what leaves one end back at the other (default False: it is cut away).

    Returns
    -------
    torch.Tensor
        `(batch, events, 3)`, or `(batch, 2 * events, 3)` with `wrap`; padding rows are all -1.
    """
    on, off, cls = events.unbind(-1)
    strong = (cls >= 0) & (on >= 0)
    per_clip = lambda v: torch.as_tensor(v, dtype=events.dtype, device=events.device).reshape(-1, 1)   # noqa: E731
    scale, shift = per_clip(scale), per_clip(shift)
    if reverse: on, off = length - off, length - on
    on, off = on * scale + shift, off * scale + shift

    def cut(a, b):
        a, b = a.clamp(0, length), b.clamp(0, length)
        moved = torch.stack([torch.where(strong, a, events[..., 0]), torch.where(strong, b, events[..., 1]), cls], -1)
        return torch.where((strong & (b <= a))[..., None], -1.0, moved)
    if not wrap: return cut(on, off)
    back = torch.where(shift > 0, -length, length) * strong          # the piece past the end comes in at the start
    wrapped = cut(on + back, off + back)
    return torch.cat([cut(on, off), torch.where(strong[..., None], wrapped, -1.0)], 1)


def median_filter(x: torch.Tensor, width: int) -> torch.Tensor:
    """Median of each column over `width` frames, the usual smoothing of frame decisions before decoding.

    Parameters
    ----------
    x : torch.Tensor
        Shape `(frames, classes)`.
    width : int
        Odd window length in frames; the edges repeat the end frames. 1 (or less) returns `x` as it is.

    Returns
    -------
    torch.Tensor
        The same shape as `x`.

    Raises
    ------
    ValueError
        When `width` is even (and above 1).
    """
    if width <= 1: return x
    if width % 2 == 0: raise ValueError(f'median width must be odd, got {width}')
    h = width // 2
    padded = torch.cat([x[:1].expand(h, -1), x, x[-1:].expand(h, -1)])
    return padded.unfold(0, width, 1).median(-1).values


def decode_events(probs: torch.Tensor, vocab, frame_seconds: float, *, threshold=0.5, low=None, median=1,
                  min_duration: float = 0.0, min_gap: float = 0.0, filename: str = '',
                  start: float = 0.0, duration: float | None = None) -> list[Event]:
    """Decode the frame probabilities of one file into events.

    Onsets and offsets fall on frame times; an event's `score` is its peak probability.

    Parameters
    ----------
    probs : torch.Tensor
        Frame probabilities, shape `(frames, classes)`.
    vocab : sequence
        The class names, one per column.
    frame_seconds : float
        Seconds between frames: frame i stands for `start + i * frame_seconds`.
    threshold : float or sequence of float
        A number or one per class; a frame is active above it (default 0.5).
    low : float or sequence of float, optional
        Hysteresis (a number or one per class, below `threshold`): an event starts above `threshold` and lasts
        while the probability stays above `low` (default None: no hysteresis).
    median : int or sequence of int
        Odd width in frames of a median filter on the active/inactive decisions, a number or one per class
        (default 1: none).
    min_duration : float
        Events shorter than this (seconds) are dropped, after merging (default 0).
    min_gap : float
        Events of one class closer than this (seconds) merge (default 0).
    filename : str
        The `filename` of the events (default '').
    start : float
        Seconds frame 0 stands for (default 0; see `frame_grid`).
    duration : float, optional
        The file's length in seconds: events are cut to `[0, duration]` (default None: they end where their last
        frame's span does, which may be past the end by up to a frame).

    Returns
    -------
    list of Event
        Sorted by onset, then label.

    Raises
    ------
    ValueError
        When `probs` is not `(frames, len(vocab))`.

    Examples
    --------
    >>> decode_events(torch.tensor([[0.1], [0.9], [0.8], [0.2]]), ['dog'], frame_seconds=0.5)
    [Event(filename='', onset=0.5, offset=1.5, event_label='dog', score=0.8999999761581421)]
    """
    probs = torch.as_tensor(probs, dtype=torch.float32).detach().cpu()
    if probs.ndim != 2 or probs.shape[1] != len(vocab):
        raise ValueError(f'probs must be (frames, {len(vocab)} classes), got {tuple(probs.shape)}')
    hi = torch.as_tensor(threshold, dtype=torch.float32).expand(probs.shape[1])
    above = probs > hi
    if low is not None:
        lo = torch.as_tensor(low, dtype=torch.float32).expand(probs.shape[1])
        above = _hysteresis(above, probs > lo)
    widths = [int(w) for w in torch.as_tensor(median).expand(probs.shape[1]).tolist()]
    active = torch.stack([median_filter(above[:, c:c + 1].float(), w)[:, 0] for c, w in enumerate(widths)], 1) > 0.5 \
        if len(set(widths)) > 1 else median_filter(above.float(), widths[0] if widths else 1) > 0.5
    end = math.inf if duration is None else float(duration)
    out = []
    for c, label in enumerate(vocab):
        runs = _runs(active[:, c])
        merged = []
        for a, b in runs:                                   # frames [a, b)
            if merged and (a - merged[-1][1]) * frame_seconds < min_gap: merged[-1][1] = b
            else: merged.append([a, b])
        for a, b in merged:
            if (b - a) * frame_seconds < min_duration: continue
            on, off = max(0.0, start + a * frame_seconds), min(end, start + b * frame_seconds)
            if off > on: out.append(Event(filename, on, off, str(label), float(probs[a:b, c].max())))
    return sorted(out, key=lambda e: (e.onset, e.event_label))


def _runs(active: torch.Tensor) -> list[tuple[int, int]]:
    "The `[start, end)` frame runs where the boolean column `active` is True."
    d = torch.diff(active.to(torch.int8), prepend=torch.zeros(1, dtype=torch.int8), append=torch.zeros(1, dtype=torch.int8))
    starts, ends = torch.nonzero(d == 1).flatten().tolist(), torch.nonzero(d == -1).flatten().tolist()
    return list(zip(starts, ends))


def _hysteresis(high: torch.Tensor, above_low: torch.Tensor) -> torch.Tensor:
    "Frames in a run of `above_low` that holds at least one `high` frame (per column)."
    out = torch.zeros_like(high)
    for c in range(high.shape[1]):
        for a, b in _runs(above_low[:, c]):
            if high[a:b, c].any(): out[a:b, c] = True
    return out


# --------------------------------------------------------------------------- metrics (DCASE definitions)
def _by_file(events):
    d = defaultdict(list)
    for e in events: d[str(e.filename)].append(e)
    return d


def _f1(tp, fp, fn) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def _summary(per_class: dict, extra: dict | None = None) -> dict:
    tp, fp, fn = (sum(v[k] for v in per_class.values()) for k in ('tp', 'fp', 'fn'))
    counted = [c for c, v in per_class.items() if v['tp'] + v['fn'] > 0]          # classes present in the reference
    out = {'f1_micro': _f1(tp, fp, fn),
           'f1_macro': sum(_f1(**per_class[c]) for c in counted) / len(counted) if counted else float('nan'),
           'tp': tp, 'fp': fp, 'fn': fn,
           'per_class': {c: {**v, 'f1': _f1(**v)} for c, v in per_class.items()}}
    out.update(extra or {})
    return out


def segment_scores(reference, estimated, *, segment: float = 1.0, durations: dict | None = None) -> dict:
    """Segment-based scores of estimated events against reference events (DCASE, `sed_eval`'s definitions).

    Each file is cut into `segment`-second segments, a class active in a segment when any of its events overlaps
    it; TP / FP / FN are counted per (segment, class). Error rate = (S + D + I) / N with, per segment,
    S = min(FN, FP), D = max(0, FN - FP), I = max(0, FP - FN) and N the active reference (segment, class) pairs.

    Parameters
    ----------
    reference : iterable of Event
        The true events, of any number of files.
    estimated : iterable of Event
        The decoded events.
    segment : float
        Segment length in seconds (default 1.0).
    durations : dict, optional
        {filename: seconds}: a file's length (default None: its last event's end).

    Returns
    -------
    dict
        'f1_micro' (pooled counts), 'f1_macro' (mean over the classes of the reference; NaN without any),
        'tp', 'fp', 'fn', 'per_class' ({class: tp, fp, fn, f1}), 'error_rate' (NaN without reference
        activity), 'substitutions', 'deletions', 'insertions' and 'n_reference'.
    """
    ref, est = _by_file(reference), _by_file(estimated)
    classes = sorted({e.event_label for e in reference} | {e.event_label for e in estimated})
    per = {c: dict(tp=0, fp=0, fn=0) for c in classes}
    S = D = I = N = 0
    for f in sorted(set(ref) | set(est)):
        end = max([e.offset for e in ref[f] + est[f]] + [(durations or {}).get(f, 0.0)])
        n_seg = max(1, math.ceil(end / segment - 1e-9))

        def activity(events):
            act = defaultdict(set)
            for e in events:
                first, last = int(e.onset // segment), math.ceil(e.offset / segment - 1e-9) - 1
                for k in range(first, max(first, last) + 1):
                    if k < n_seg: act[k].add(e.event_label)
            return act
        r, s = activity(ref[f]), activity(est[f])
        for k in range(n_seg):
            tp_k, fp_k, fn_k = len(r[k] & s[k]), len(s[k] - r[k]), len(r[k] - s[k])
            for c in r[k] & s[k]: per[c]['tp'] += 1
            for c in s[k] - r[k]: per[c]['fp'] += 1
            for c in r[k] - s[k]: per[c]['fn'] += 1
            S += min(fn_k, fp_k)
            D += max(0, fn_k - fp_k)
            I += max(0, fp_k - fn_k)
            N += len(r[k])
    er = (S + D + I) / N if N else float('nan')
    return _summary(per, {'error_rate': er, 'substitutions': S, 'deletions': D, 'insertions': I, 'n_reference': N})


def _matches(r: Event, e: Event, t_collar: float, percentage_of_length: float, offsets: bool) -> bool:
    if abs(r.onset - e.onset) > t_collar: return False
    if not offsets: return True
    return abs(r.offset - e.offset) <= max(t_collar, percentage_of_length * (r.offset - r.onset))


def _max_matching(n_ref: int, edges: dict) -> int:
    "Size of a maximum bipartite matching (augmenting paths); `edges[i]`: the estimated events reference i may take."
    owner = {}

    def take(i, seen):
        for j in edges.get(i, ()):
            if j in seen: continue
            seen.add(j)
            if j not in owner or take(owner[j], seen):
                owner[j] = i
                return True
        return False
    return sum(take(i, set()) for i in range(n_ref))


def event_scores(reference, estimated, *, t_collar: float = 0.2, percentage_of_length: float = 0.2,
                 evaluate_offset: bool = True) -> dict:
    """Event-based scores of estimated events against reference events (DCASE, `sed_eval`'s definitions).

    An estimated event is a true positive when it has a reference event of its class and file whose onset is
    within `t_collar` seconds and (with `evaluate_offset`) whose offset is within max(`t_collar`,
    `percentage_of_length` x the reference event's length); each event is matched at most once, by a maximum
    matching.

    Parameters
    ----------
    reference : iterable of Event
        The true events, of any number of files.
    estimated : iterable of Event
        The decoded events.
    t_collar : float
        Onset (and offset) tolerance in seconds (default 0.2).
    percentage_of_length : float
        Offset tolerance as a fraction of the reference event's length, when larger than `t_collar` (default 0.2).
    evaluate_offset : bool
        Also require the offsets to match (default True).

    Returns
    -------
    dict
        'f1_micro' (pooled counts), 'f1_macro' (mean over the classes of the reference; NaN without any), 'tp',
        'fp', 'fn' and 'per_class' ({class: tp, fp, fn, f1}).
    """
    ref, est = _by_file(reference), _by_file(estimated)
    classes = sorted({e.event_label for e in reference} | {e.event_label for e in estimated})
    per = {c: dict(tp=0, fp=0, fn=0) for c in classes}
    for f in set(ref) | set(est):
        for c in classes:
            rs = [e for e in ref[f] if e.event_label == c]
            es = [e for e in est[f] if e.event_label == c]
            edges = {i: [j for j, e in enumerate(es) if _matches(r, e, t_collar, percentage_of_length, evaluate_offset)]
                     for i, r in enumerate(rs)}
            tp = _max_matching(len(rs), edges)
            per[c]['tp'] += tp
            per[c]['fp'] += len(es) - tp
            per[c]['fn'] += len(rs) - tp
    return _summary(per)


def _overlap(a: Event, b: Event) -> float:
    return max(0.0, min(a.offset, b.offset) - max(a.onset, b.onset))


def _psd_rates(reference, estimated, classes, durations, dtc, gtc, cttc):
    """One operating point's (TP ratio, FP rate per hour, cross-trigger rates per hour) per class, by the
    detection, ground-truth and cross-trigger tolerance criteria of PSDS."""
    ref, est = _by_file(reference), _by_file(e for e in estimated if e.offset > e.onset)
    hours = sum(durations.values()) / 3600
    ref_hours = {c: sum(e.offset - e.onset for e in reference if e.event_label == c) / 3600 for c in classes}
    n_ref = {c: sum(e.event_label == c for e in reference) for c in classes}
    found, false, cross = defaultdict(int), defaultdict(int), defaultdict(int)
    for f, dets in est.items():
        refs = ref[f]
        kept = []                                                       # detections that pass the DTC
        for d in dets:
            same = sum(_overlap(d, g) for g in refs if g.event_label == d.event_label) / (d.offset - d.onset)
            if same > 0 and same >= dtc: kept.append(d)
            elif d.onset < durations.get(f, math.inf):                  # an FP, and maybe a cross-trigger
                false[d.event_label] += 1
                for c in classes:
                    if c == d.event_label: continue
                    share = sum(_overlap(d, g) for g in refs if g.event_label == c) / (d.offset - d.onset)
                    if share > 0 and share >= cttc: cross[d.event_label, c] += 1
        for g in refs:                                                  # a reference covered enough: detected
            covered = sum(_overlap(d, g) for d in kept if d.event_label == g.event_label) / (g.offset - g.onset)
            if covered > 0 and covered >= gtc: found[g.event_label] += 1
    tpr = {c: found[c] / n_ref[c] for c in classes}
    fpr = {c: false[c] / hours for c in classes}
    ctr = {(c, k): cross[c, k] / ref_hours[k] if ref_hours[k] else math.nan for c in classes for k in classes if c != k}
    return tpr, fpr, ctr


def psds(reference, operating_points, durations: dict, *, dtc: float = 0.7, gtc: float = 0.7, cttc: float = 0.3,
         alpha_ct: float = 0.0, alpha_st: float = 1.0, max_efpr: float | None = 100.0) -> float:
    """The polyphonic sound detection score (PSDS, Bilen et al. 2020; DCASE's threshold-free SED metric).

    Each operating point (the events decoded at one threshold) gives, per class, the fraction of reference events
    detected (TPR) and an effective false-positive rate per hour, eFPR = FPR + `alpha_ct` x the mean
    cross-trigger rate on the other classes. A detection is correct when at least `dtc` of it lies in reference
    events of its class (DTC); a reference event is detected when at least `gtc` of it is covered by correct
    detections of its class (GTC); an incorrect detection is a false positive, and a cross-trigger on another class
    when at least `cttc` of it lies in that class's events (CTTC). Each class's ROC is the best TPR reached at
    each eFPR (a staircase, with the origin); the PSD-ROC is their mean minus `alpha_st` x their spread (population
    standard deviation, floored at 0), and PSDS its area up to `max_efpr`, divided by `max_efpr` (in [0, 1]).
    The defaults are DCASE's scenario 1 (dtc = gtc = 0.7, alpha_ct 0, alpha_st 1, 100 per hour); scenario 2 is
    dtc = gtc = 0.1, cttc 0.3, alpha_ct 0.5.

    Parameters
    ----------
    reference : iterable of Event
        The true events, of any number of files.
    operating_points : sequence of iterables of Event
        The decoded events at each operating point (e.g. one threshold each).
    durations : dict
        {filename: seconds}: every file's length, those without events included.
    dtc, gtc, cttc : float
        The tolerance criteria, in [0, 1] (defaults 0.7, 0.7, 0.3).
    alpha_ct : float
        Weight of the cross-triggers in the eFPR, in [0, 1] (default 0.0).
    alpha_st : float
        Cost of the spread across classes, >= 0 (default 1.0).
    max_efpr : float, optional
        The eFPR (per hour) the area stops at (default 100.0; None: the largest reached).

    Returns
    -------
    float
        PSDS, in [0, 1].

    Raises
    ------
    ValueError
        Without reference events or operating points, or for a setting out of range.
    """
    reference = [e for e in reference if e.offset > e.onset]
    operating_points = [list(op) for op in operating_points]
    if not reference or not operating_points: raise ValueError('psds needs reference events and operating points')
    for name, v in (('dtc', dtc), ('gtc', gtc), ('cttc', cttc), ('alpha_ct', alpha_ct)):
        if not 0 <= v <= 1: raise ValueError(f'{name} must be in [0, 1], got {v}')
    if alpha_st < 0: raise ValueError(f'alpha_st must be >= 0, got {alpha_st}')
    durations = {str(k): float(v) for k, v in durations.items()}
    classes = sorted({e.event_label for e in reference})
    curves = {c: [(0.0, 0.0)] for c in classes}                           # (eFPR, TPR) points, the origin included
    for op in operating_points:
        tpr, fpr, ctr = _psd_rates(reference, op, classes, durations, dtc, gtc, cttc)
        for c in classes:
            others = [ctr[c, k] for k in classes if k != c and not math.isnan(ctr[c, k])]
            curves[c].append((fpr[c] + alpha_ct * (sum(others) / len(others) if others else 0.0), tpr[c]))
    xs = sorted({x for pts in curves.values() for x, _ in pts})

    def staircase(pts):                                                   # best TPR reached at or below each eFPR
        best, out, i = 0.0, [], 0
        pts = sorted(pts)
        for x in xs:
            while i < len(pts) and pts[i][0] <= x:
                best = max(best, pts[i][1])
                i += 1
            out.append(best)
        return out
    ys = [staircase(curves[c]) for c in classes]
    etpr = []
    for j in range(len(xs)):
        col = [y[j] for y in ys]
        mean = sum(col) / len(col)
        spread = math.sqrt(sum((v - mean) ** 2 for v in col) / len(col))
        etpr.append(max(0.0, mean - alpha_st * spread))
    top = xs[-1] if max_efpr is None else float(max_efpr)
    if top <= 0: return 0.0
    area = sum((min(xs[j + 1], top) - xs[j]) * etpr[j] for j in range(len(xs) - 1) if xs[j] < top)
    if xs[-1] < top: area += (top - xs[-1]) * etpr[-1]
    return area / top


# --------------------------------------------------------------------------- event tables for other tools
#: the tables `write_events` writes: a CSV, a Raven selection table, an Audacity label track
EVENT_FORMATS = ('csv', 'raven', 'audacity')
_SUFFIX = {'csv': '.events.csv', 'raven': '.Table.1.selections.txt', 'audacity': '.txt'}


def check_event_format(format: str):
    "Raise a ValueError naming `format` unless it is one of `EVENT_FORMATS`."
    if format not in EVENT_FORMATS: raise ValueError(f'unknown event table format {format!r}; known: {", ".join(EVENT_FORMATS)}')


def event_table_name(audio_name: str, format: str) -> str:
    """The name of an audio file's event table.

    Raven's own naming for a selection table: 'song.wav' -> 'song.events.csv', 'song.Table.1.selections.txt' or
    'song.txt'.

    Parameters
    ----------
    audio_name : str
        The audio file's name or relative path.
    format : {'csv', 'raven', 'audacity'}
        The table (`EVENT_FORMATS`).

    Returns
    -------
    str
        `audio_name` with its suffix replaced by the table's.

    Raises
    ------
    ValueError
        For an unknown `format`.
    """
    check_event_format(format)
    p = Path(audio_name)
    return p.with_name(p.stem + _SUFFIX[format]).as_posix()


def write_events(events, path, format: str = 'csv', *, high_freq: float | None = None) -> Path:
    """Write events as a table other tools read.

    'csv': `filename, onset, offset, event_label, score` with a header (what `read_events` reads). 'raven': a
    Raven selection table (tab-separated: Selection, View, Channel, Begin Time (s), End Time (s), Low Freq (Hz),
    High Freq (Hz), then the annotation columns Annotation and Score), one audio file's events, numbered from 1,
    each spanning 0 Hz to `high_freq`. 'audacity': an Audacity label track (`onset<TAB>offset<TAB>label` a line),
    one audio file's events, imported with File > Import > Labels. A file without events gets an empty table
    (the header alone for 'csv' and 'raven').

    Parameters
    ----------
    events : iterable of Event
        The events (e.g. `decode_events`, `Timeline.events`, `FrameDetector.events`).
    path : str or Path
        The table written; its folder is made when missing.
    format : {'csv', 'raven', 'audacity'}
        The table (default 'csv').
    high_freq : float, optional
        The upper edge of Raven's selections in Hz, e.g. half the sample rate (default None: 0 Hz to 0 Hz, which
        Raven draws as a time-only selection).

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    ValueError
        For an unknown `format`.
    """
    check_event_format(format)
    events = sorted(events, key=lambda e: (str(e.filename), e.onset, e.event_label))
    num = lambda v: f'{float(v):.6f}'                                     # noqa: E731
    if format == 'csv':
        import csv
        import io
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator='\n')
        w.writerow(['filename', 'onset', 'offset', 'event_label', 'score'])
        w.writerows([e.filename, num(e.onset), num(e.offset), e.event_label, num(e.score)] for e in events)
        text = buf.getvalue()
    elif format == 'raven':
        top = num(high_freq or 0.0)
        rows = ['\t'.join(('Selection', 'View', 'Channel', 'Begin Time (s)', 'End Time (s)', 'Low Freq (Hz)',
                           'High Freq (Hz)', 'Annotation', 'Score'))]
        rows += ['\t'.join((str(i), 'Spectrogram 1', '1', num(e.onset), num(e.offset), num(0.0), top, str(e.event_label),
                            num(e.score))) for i, e in enumerate(events, 1)]
        text = '\n'.join(rows) + '\n'
    else:
        text = ''.join(f'{num(e.onset)}\t{num(e.offset)}\t{e.event_label}\n' for e in events)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_event_tables(by_file: dict, out, format: str = 'csv', *, high_freq: float | None = None) -> list:
    """Write the events of many audio files: one CSV of them all, or one Raven / Audacity table per file.

    Parameters
    ----------
    by_file : dict
        {audio file's path under a folder: its events (iterable of Event)}; a file without events gets an empty
        table.
    out : str or Path
        The CSV ('csv'), or the folder under which each file's table is written at its path
        (`event_table_name`).
    format : {'csv', 'raven', 'audacity'}
        The table (default 'csv'); see `write_events`.
    high_freq : float, optional
        Raven's upper selection edge in Hz (default None).

    Returns
    -------
    list of Path
        The tables written.

    Raises
    ------
    ValueError
        For an unknown `format`.
    """
    check_event_format(format)                                          # an unknown format fails first
    if format == 'csv':
        return [write_events([Event(name, *e[1:]) for name, evs in by_file.items() for e in evs], out, 'csv')]
    return [write_events([Event(name, *e[1:]) for e in evs], Path(out) / event_table_name(name, format), format,
                         high_freq=high_freq) for name, evs in by_file.items()]

