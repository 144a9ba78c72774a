"""Benchmark (issues 17 and 25): sound event detection on soundscapes of instrument notes never heard in training.

    python ../shared/datasets/make_nsynth_gm.py --out DATA/nsynth_gm
    python benchmarks/sed_nsynth.py DATA/nsynth_gm [--split primary|alt] [--scapes 120] [--tune-scapes 30]
           [--test-scapes 60] [--duration 4] [--epochs 6] [--seeds 0 1] [--rows 'frame,crnn,crnn + aug,clip']
           [--append]

Soundscapes (`make_soundscapes`, pink noise at -30 dBFS, 1-4 notes a scape cut to 0.5-2 s, SNR 0-20 dB,
labelled by instrument family): training scapes and tuning scapes from the training instruments, test scapes
from instruments never heard (`--split primary`: NSynth-GM's validation soundfont; `alt`: its held-out GM
programs, `alt_program_split`). The tuning scapes are the SED loaders' validation set: what `tune_decoding`
reads (a user has no labels of the unseen sounds); the test scapes are scored once at the end.

- frame: `sed_learner(dls, resnet18, pretrained=False)`, `fit_one_cycle(epochs, 3e-3)`;
- crnn: the same with `temporal='gru'` (a bidirectional GRU over the frames after the body);
- ... + aug: label-aware augmentation on the training scapes: `TimeShift(0.3)`, `TimeStretch((0.85, 1.15), p=0.3)`,
  `RandomFilter()` on the waveforms (the events move with them) and fastai's `MixUp(0.4)` (frame targets mixed
  with the audio);
- clip: resnet18 from scratch on the isolated training notes (1 s crops), slid over each test scape
  (`predict(window=1.0, hop=0.25)`) and read by `Timeline.events` (median 3 windows, 0.1 s minimum).

Each frame row is decoded twice from one training: 'default' (threshold 0.5, median 5 frames, 0.1 s minimum) and
'tuned' (`tune_decoding('event')` on the tuning scapes, 0.1 s minimum). Scored with `event_scores` (200 ms onset
collar, offset max(200 ms, 20%)), `segment_scores` (1 s), micro, and PSDS (scenario 1, thresholds 0.05-0.95) on
the test scapes. Each row: mean (min-max) over the seeds, time of one training. Printed first: the segment F1 of
"every class active all the time", the floor a detector must beat.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, command, machine, today  # noqa: E402

THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))       # PSDS's operating points


def sources(root, split, per_family, seed):
    "Up to `per_family` notes of each family in `split`, drawn at random with `seed` (the same for every row)."
    import random
    import re
    from fastai_audio import NSYNTH_PATTERN
    files = sorted((Path(root) / split).glob('*.wav'))
    by = {}
    for f in files: by.setdefault(re.match(NSYNTH_PATTERN, f.name).group(1), []).append(f)
    rng = random.Random(seed)
    return sorted(f for fs in by.values() for f in rng.sample(fs, min(per_family, len(fs))))


def make_data(root, work, a):
    "Training, tuning and test scapes under `work/scapes/{train,tune,test}`, one events.csv over the first two."
    import fastai_audio as fa
    train_src = sources(root, 'train', a.notes_per_family, 0)
    test_src = sources(root, 'valid', a.notes_per_family, 1)
    kw = dict(duration=a.duration, events=(1, 4), event_duration=(0.5, 2.0), pattern=fa.NSYNTH_PATTERN)
    fa.make_soundscapes(train_src, work / 'scapes' / 'train', n=a.scapes, seed=0, **kw)
    fa.make_soundscapes(train_src, work / 'scapes' / 'tune', n=a.tune_scapes, seed=2, **kw)
    fa.make_soundscapes(test_src, work / 'scapes' / 'test', n=a.test_scapes, seed=1, **kw)
    lines = ['filename,onset,offset,event_label']
    for s in ('train', 'tune'):
        lines += [f'{s}/{line}' for line in (work / 'scapes' / s / 'events.csv').read_text().splitlines()[1:]]
    (work / 'scapes' / 'events.csv').write_text('\n'.join(lines) + '\n')
    return train_src


def scores(ref, found, durations) -> tuple:
    "(event F1, segment F1) of the events `found`."
    import fastai_audio as fa
    return (fa.event_scores(ref, found)['f1_micro'], fa.segment_scores(ref, found, durations=durations)['f1_micro'])


def run(row, work, train_src, seed, a):
    """Train `row`'s model with `seed`: {decoding: (event F1, segment F1, PSDS)} on the test scapes, and the seconds
    the training took."""
    import soundfile as sf
    import fastai_audio as fa
    from fastai.callback.mixup import MixUp
    from fastai.vision import models
    scapes = work / 'scapes'
    test = sorted((scapes / 'test').glob('*.wav'))
    ref = fa.read_events(scapes / 'test' / 'events.csv')
    durations = {f.name: sf.info(str(f)).duration for f in test}
    fa.set_seed(seed, reproducible=True)
    t0 = time.time()
    if row == 'clip':
        dls = fa.AudioDataLoaders.from_name_re(work, train_src, fa.NSYNTH_PATTERN, valid_pct=0.1, seed=0, duration=1.0,
                                               bs=a.bs, num_workers=0)
        learn = fa.audio_learner(dls, models.resnet18, pretrained=False)
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs, 3e-3)
        took = time.time() - t0
        timelines = {f.name: learn.predict(f, window=1.0, hop=0.25, with_timeline=True)[3] for f in test}
        found = [e for n, tl in timelines.items() for e in tl.events(median=3, min_duration=0.1, filename=n)]
        ops = [[e for n, tl in timelines.items() for e in tl.events(threshold=t, filename=n)] for t in THRESHOLDS]
        return {'default': (*scores(ref, found, durations), fa.psds(ref, ops, durations))}, took
    augment = row.endswith('+ aug')
    tfms = [fa.TimeShift(0.3), fa.TimeStretch((0.85, 1.15), p=0.3), fa.RandomFilter()] if augment else []
    dls = fa.sed_dataloaders(scapes / 'events.csv', scapes, valid_files=[f'tune/{f.name}' for f in (scapes / 'tune').glob('*.wav')],
                             bs=a.bs, num_workers=0, batch_tfms=[*tfms, *fa.get_frequency_batch_transforms()])
    learn = fa.sed_learner(dls, models.resnet18, pretrained=False, temporal='gru' if row.startswith('crnn') else 'conv',
                           cbs=[MixUp(0.4)] if augment else None, metrics=[])
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs, 3e-3)
    took = time.time() - t0
    probs = {f.name: learn.frame_probs(f) for f in test}
    step, start = learn.spec.frame_grid
    vocab = [str(c) for c in dls.vocab]

    def decode(**kw):
        return [e for n, p in probs.items() for e in fa.decode_events(p, vocab, step, start=start, filename=n,
                                                                        duration=durations[n], **kw)]
    ops = [decode(threshold=t) for t in THRESHOLDS]
    out = {'default': (*scores(ref, decode(threshold=0.5, median=5, min_duration=0.1), durations), fa.psds(ref, ops, durations))}
    learn.remove_cbs([c for c in learn.cbs if isinstance(c, MixUp)])
    learn.tune_decoding('event')
    tuned = decode(threshold=learn.decoding['threshold'], median=learn.decoding['median'], min_duration=0.1)
    out['tuned'] = (*scores(ref, tuned, durations), out['default'][2])
    return out, took


def floor(work) -> float:
    "Segment-based F1 of 'every class active all the time' on the test scapes: what a detector must beat."
    import soundfile as sf
    import fastai_audio as fa
    ref = fa.read_events(work / 'scapes' / 'test' / 'events.csv')
    classes = sorted({e.event_label for e in fa.read_events(work / 'scapes' / 'events.csv')})
    est = [fa.Event(f.name, 0.0, sf.info(str(f)).duration, c) for f in sorted((work / 'scapes' / 'test').glob('*.wav'))
           for c in classes]
    return fa.segment_scores(ref, est)['f1_micro']


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data')
    p.add_argument('--split', choices=('primary', 'alt'), default='primary')
    p.add_argument('--scapes', type=int, default=120)
    p.add_argument('--tune-scapes', type=int, default=30)
    p.add_argument('--test-scapes', type=int, default=60)
    p.add_argument('--duration', type=float, default=4.0, help='seconds a soundscape')
    p.add_argument('--notes-per-family', type=int, default=40, help='source notes of each family a split')
    p.add_argument('--epochs', type=int, default=6)
    p.add_argument('--bs', type=int, default=16)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--rows', default='frame,crnn,crnn + aug')
    p.add_argument('--work', default=None, help='folder for the soundscapes (default: a new temporary one)')
    p.add_argument('--append', action='store_true')
    a = p.parse_args(argv)
    root = Path(a.data) / ('alt_program_split' if a.split == 'alt' else '')
    work = Path(a.work or tempfile.mkdtemp(prefix='sed_nsynth_'))
    train_src = make_data(root, work, a)
    data = f'{a.split}: {a.scapes} + {a.tune_scapes} tuning / {a.test_scapes} test scapes of {a.duration:g} s'
    print(f'every class all the time: segment F1 {floor(work):.3f}', flush=True)
    for row in [r.strip() for r in a.rows.split(',')]:
        runs = [run(row, work, train_src, s, a) for s in a.seeds]
        fmt = lambda v: f'{statistics.mean(v):.3f} ({min(v):.3f}-{max(v):.3f})'  # noqa: E731
        for decoding in runs[0][0]:
            got = [r[0][decoding] for r in runs]
            cells = [f'{row}, {decoding}', data, a.epochs, ' '.join(map(str, a.seeds)), fmt([g[0] for g in got]),
                     fmt([g[1] for g in got]), fmt([g[2] for g in got]), f'{statistics.mean(r[1] for r in runs):.0f} s']
            print(' | '.join(map(str, cells)), flush=True)
            if a.append: append_row('sed nsynth', [today(), f'`{command()}`', machine(), *cells])


if __name__ == '__main__':
    main()
