"""Library calls leave the process as they found it: an export sets its files' mode without touching the umask,
and the commands that save a picture leave matplotlib's backend to the user."""
import os
import re
import stat
from pathlib import Path

import pytest
from torch import nn

import fastai_audio
from fastai_audio.runtime.frontend import FrontEnd
from fastai_audio.serving.classifier import AudioModelSpec
from fastai_audio.serving.export import save_waveform_model

PKG = Path(fastai_audio.__file__).parent


def test_no_module_sets_the_umask_or_the_matplotlib_backend():
    pattern = re.compile(r'\bos\.umask\s*\(|\bmatplotlib\.use\s*\(|\bswitch_backend\s*\(|rcParams\[.backend.\]\s*=')
    found = [f'{p.relative_to(PKG)}:{i}' for p in sorted(PKG.rglob('*.py'))
             for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, f'process-wide state changed by library code at {found}'


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def _refuse(*_): raise AssertionError('os.umask called: it sets the mask for the whole process')


@pytest.mark.parametrize('proc', [True, False], ids=['proc-status', 'probe-file'])
def test_export_gives_new_file_modes_and_leaves_the_umask(tmp_path, monkeypatch, umask_027, proc):
    if not proc:                                    # as where the kernel does not report the umask (not Linux)
        read = Path.read_text
        def no_proc(self, *a, **k):
            if str(self).startswith('/proc/'): raise OSError('no /proc here')
            return read(self, *a, **k)
        monkeypatch.setattr(Path, 'read_text', no_proc)
    monkeypatch.setattr(os, 'umask', _refuse)
    config = AudioModelSpec(FrontEnd(mean=0.0, std=1.0), ('a', 'b')).to_dict()      # what the model card reads
    path = save_waveform_model(nn.Linear(4, 2), tmp_path / 'm', config, formats=('safetensors',))
    monkeypatch.undo()
    assert sorted(p.name for p in path.iterdir()) == ['README.md', 'config.json', 'model.safetensors']     # no probe left
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.iterdir()} == \
        {'README.md': 0o640, 'config.json': 0o640, 'model.safetensors': 0o640}   # 0o666 less 0o027; safetensors: 0o600
    assert os.umask(0o027) == 0o027                                    # the process's mask, as the test set it


@pytest.fixture
def svg_backend(monkeypatch):
    "A backend of the user's, neither Agg nor the default; and no training (test_cli.py trains), only the plots."
    import matplotlib
    from fastai.learner import Learner
    monkeypatch.setattr(Learner, 'fit_one_cycle', lambda self, *a, **k: None, raising=False)
    old = matplotlib.get_backend()
    matplotlib.use('svg')
    yield
    matplotlib.use(old)


def test_train_folder_leaves_the_matplotlib_backend(synth_path, tmp_path, svg_backend):
    import matplotlib
    import matplotlib.pyplot as plt
    from fastai_audio.cli import train_folder
    from fastai_audio.datasets.synth import NSYNTH_PATTERN
    before = plt.get_fignums()
    train_folder(synth_path, tmp_path, label_re=NSYNTH_PATTERN, pretrained=False, epochs=1, bs=8, num_workers=0,
                 export=False, progress='lines')
    assert matplotlib.get_backend() == 'svg'
    png = (tmp_path / 'confusion_matrix.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'                               # still a PNG, drawn by the user's backend
    assert plt.get_fignums() == before                                 # its figure closed, and only its own


def test_sed_demo_leaves_the_matplotlib_backend(tmp_path, svg_backend):
    import matplotlib
    import matplotlib.pyplot as plt
    from fastai_audio.cli import sed_demo
    mine = plt.figure()                                                # a figure of the user's stays open
    before = plt.get_fignums()                                         # (earlier tests may have left others)
    sed_demo(tmp_path, epochs=1, n_scapes=8, progress='lines')
    assert matplotlib.get_backend() == 'svg'
    assert (tmp_path / 'events.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert mine.number in before and plt.get_fignums() == before
    plt.close(mine)
