import shutil
import subprocess
import sys

from fastai_audio.cli import main
from fastai_audio.synth import NSYNTH_PATTERN


def test_train_command_writes_learner_and_confusion_matrix(synth_path, tmp_path, capsys):
    data = tmp_path / 'data'
    shutil.copytree(synth_path, data)
    out = tmp_path / 'out'
    assert main(['train', str(data), '--label-re', NSYNTH_PATTERN, '--no-pretrained', '--epochs', '1', '--bs', '8',
                 '--out', str(out), '--num-workers', '0']) == 0
    printed = capsys.readouterr().out
    assert 'valid accuracy' in printed and '40 training and 20 validation clips' in printed
    assert (out / 'export.pkl').stat().st_size > 0 and (out / 'confusion_matrix.png').stat().st_size > 0
    from fastai_audio import load_waveform_model
    assert load_waveform_model(out / 'model').classes == ['chirp', 'clicks', 'noise', 'sine', 'square']
    assert 'share this one' in printed
    assert sorted(p.name for p in data.rglob('*.wav')) == sorted(p.name for p in synth_path.rglob('*.wav'))


def test_demo_command_end_to_end(tmp_path):
    "The console script itself, as a user runs it (a smaller dataset and one epoch to keep the test short)."
    res = subprocess.run([sys.executable, '-m', 'fastai_audio.cli', 'demo', '--out', str(tmp_path / 'demo'),
                          '--per-class', '10', '--epochs', '1'], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'valid accuracy' in res.stdout and 'chirp, clicks, noise, sine, square' in res.stdout
    assert (tmp_path / 'demo' / 'confusion_matrix.png').exists()


def test_train_on_missing_folder_is_a_clear_error(tmp_path):
    res = subprocess.run([sys.executable, '-m', 'fastai_audio.cli', 'train', str(tmp_path / 'nope')],
                         capture_output=True, text=True)
    assert res.returncode != 0 and 'is not a folder' in res.stderr
