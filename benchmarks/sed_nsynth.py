"""Benchmark (issue 17): sound event detection on soundscapes of real instrument notes, frame model vs clip model.

    python ../shared/datasets/make_nsynth_gm.py --out DATA/nsynth_gm
    python benchmarks/sed_nsynth.py DATA/nsynth_gm [--scapes 300] [--valid-scapes 100] [--duration 6]
           [--epochs 8] [--seeds 0 1] [--append]

Soundscapes (`make_soundscapes`, pink noise at -30 dBFS, 1-4 notes a scape cut to 0.5-2 s, SNR 0-20 dB,
labelled by instrument family) made from NSynth-GM's training instruments for training and from its
validation instruments (another soundfont: sounds never heard) for validation. Two ways to find the events:

- frame: `sed_learner(dls, resnet18, pretrained=False)` on the training soundscapes' strong labels,
  `fit_one_cycle(epochs, 3e-3)`, events by `predict_events` (threshold 0.5, median 5 frames, 0.1 s minimum);
- clip: resnet18 from scratch on the isolated training notes (1 s crops, the notes the training scapes were
  made from), `fit_one_cycle(epochs, 3e-3)`, slid over each validation scape (`predict(window=1.0, hop=0.25)`)
  and read by `Timeline.events` (threshold 0.5, median 3 windows, 0.1 s minimum).

Scored with `event_scores` (200 ms onset collar, offset max(200 ms, 20%)) and `segment_scores` (1 s), micro,
against the validation scapes' reference events, at each `--thresholds` (one training, several decodings).
Each row: mean (min-max) over the seeds, time of one run. Printed first: the segment F1 of "every class active
all the time", the floor a detector must beat.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, command, machine, today  # noqa: E402

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
    import fastai_audio as fa
    train_src = sources(root, 'train', a.notes_per_family, 0)
    valid_src = sources(root, 'valid', a.notes_per_family, 1)
    kw = dict(duration=a.duration, events=(1, 4), event_duration=(0.5, 2.0), pattern=fa.NSYNTH_PATTERN)
    fa.make_soundscapes(train_src, work / 'scapes' / 'train', n=a.scapes, seed=0, **kw)
    fa.make_soundscapes(valid_src, work / 'scapes' / 'valid', n=a.valid_scapes, seed=1, **kw)
    lines = ['filename,onset,offset,event_label']
    for s in ('train', 'valid'):
        lines += [f'{s}/{line}' for line in (work / 'scapes' / s / 'events.csv').read_text().splitlines()[1:]]
    (work / 'scapes' / 'events.csv').write_text('\n'.join(lines) + '\n')
    return train_src


def run(row, work, train_src, seed, a):
    """Train `row`'s model with `seed`; {threshold: (event F1, segment F1)} of its events on the validation scapes,
    decoded from one pass of predictions at each of `a.thresholds`."""
    import fastai_audio as fa
    from fastai.vision import models
    scapes = work / 'scapes'
    ref = [e for e in fa.read_events(scapes / 'events.csv') if e.filename.startswith('valid/')]
    valid_files = sorted({e.filename for e in fa.read_events(scapes / 'valid' / 'events.csv')})
    fa.set_seed(seed, reproducible=True)
    found = {t: [] for t in a.thresholds}
    if row == 'frame':
        dls = fa.sed_dataloaders(scapes / 'events.csv', scapes, valid_files=[f'valid/{n}' for n in valid_files],
                                 bs=a.bs, num_workers=0)
        learn = fa.sed_learner(dls, models.resnet18, pretrained=False)
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs, 3e-3)
        for f in sorted((scapes / 'valid').glob('*.wav')):
            x = learn._spectrogram(f)
            probs = learn._frame_probs(x)[0]
            for t in a.thresholds:
                df = learn._events(x, probs, f, threshold=t, median=5, min_duration=0.1)
                found[t] += [fa.Event(f'valid/{r.filename}', r.onset, r.offset, r.event_label) for r in df.itertuples()]
    else:
        dls = fa.AudioDataLoaders.from_name_re(work, train_src, fa.NSYNTH_PATTERN, valid_pct=0.1, seed=0, duration=1.0,
                                               bs=a.bs, num_workers=0)
        learn = fa.audio_learner(dls, models.resnet18, pretrained=False)
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs, 3e-3)
        for f in sorted((scapes / 'valid').glob('*.wav')):
            with learn.no_bar(): tl = learn.predict(f, window=1.0, hop=0.25, with_timeline=True)[3]
            for t in a.thresholds:
                found[t] += tl.events(threshold=t, median=3, min_duration=0.1, filename=f'valid/{f.name}')
    return {t: (fa.event_scores(ref, found[t])['f1_micro'], fa.segment_scores(ref, found[t])['f1_micro'])
            for t in a.thresholds}


def floor(work) -> float:
    "Segment-based F1 of 'every class active all the time' on the validation scapes: what a detector must beat."
    import fastai_audio as fa
    ref = fa.read_events(work / 'scapes' / 'valid' / 'events.csv')
    import soundfile as sf
    classes = sorted({e.event_label for e in fa.read_events(work / 'scapes' / 'events.csv')})
    est = [fa.Event(f.name, 0.0, sf.info(str(f)).duration, c) for f in sorted((work / 'scapes' / 'valid').glob('*.wav'))
           for c in classes]
    return fa.segment_scores(ref, est)['f1_micro']


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data')
    p.add_argument('--scapes', type=int, default=300)
    p.add_argument('--valid-scapes', type=int, default=100)
    p.add_argument('--duration', type=float, default=6.0, help='seconds a soundscape')
    p.add_argument('--notes-per-family', type=int, default=60, help='source notes of each family a split')
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--bs', type=int, default=16)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--rows', default='frame,clip')
    p.add_argument('--thresholds', type=float, nargs='+', default=[0.5, 0.3], help='decoding thresholds to score')
    p.add_argument('--work', default=None, help='folder for the soundscapes (default: a new temporary one)')
    p.add_argument('--append', action='store_true')
    a = p.parse_args(argv)
    work = Path(a.work or tempfile.mkdtemp(prefix='sed_nsynth_'))
    train_src = make_data(Path(a.data), work, a)
    data = f'{a.scapes} / {a.valid_scapes} scapes of {a.duration:g} s'
    print(f'every class all the time: segment F1 {floor(work):.3f}', flush=True)
    for row in a.rows.split(','):
        scores, times = [], []
        for s in a.seeds:
            t0 = time.time()
            scores.append(run(row, work, train_src, s, a))
            times.append(time.time() - t0)
        fmt = lambda v: f'{statistics.mean(v):.3f} ({min(v):.3f}-{max(v):.3f})'  # noqa: E731
        for t in a.thresholds:
            cells = [f'{row}, threshold {t:g}', data, a.epochs, ' '.join(map(str, a.seeds)),
                     fmt([sc[t][0] for sc in scores]), fmt([sc[t][1] for sc in scores]), f'{statistics.mean(times):.0f} s']
            print(' | '.join(map(str, cells)), flush=True)
            if a.append: append_row('sed nsynth', [today(), f'`{command()}`', machine(), *cells])


if __name__ == '__main__':
    main()
