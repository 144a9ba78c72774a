"""The README's Python code runs as written: every ```python block, in order, in one namespace, in a fresh folder.

Offline, as in CI: the network is refused, and the files the README names are made first in their real
formats (pretrained torchvision, timm and transformers weights in torch's and Hugging Face's caches, a PANNs checkpoint
in the official layout, a long recording, an inbox folder). The README's data generators get small sizes here,
as the notebooks get QUICKSTART_PER_CLASS, and every fit at most README_MAX_EPOCHS epochs (2: still more than one, so
epoch ends, per-epoch checkpoints and fine_tune's two phases all run; nothing here asserts an accuracy); nothing
else is changed.
"""
import os
import re
import socket
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

README = Path(__file__).parent.parent / 'README.md'
BLOCKS = re.findall(r'^```python\n(.*?)^```', README.read_text(), re.S | re.M)

MAX_EPOCHS = int(os.environ.get('README_MAX_EPOCHS', 2))

# what the README's data calls make here: enough for its batch sizes, small enough for the suite
SMALL = {'make_synthetic_dataset': dict(n_train=8, n_valid=3),
         'make_fsdkaggle2019_like': dict(n_clips=30, durations=(0.5, 2.5)),
         'make_esc50_like': dict(sr=16000, duration=1.0, clips_per_fold=1),
         'esc50_dataloaders': dict(sr=16000, duration=1.0),
         'make_soundscapes': dict(n=8, duration=2.0)}


class _NoWaiting:
    "The `time` module with a `sleep` that returns at once."
    def __getattr__(self, name): return getattr(time, name)
    @staticmethod
    def sleep(seconds): pass


@pytest.fixture
def offline_world(tmp_path, monkeypatch):
    "A fresh working folder and home, no network, and the files the README expects to find."
    import fastai_audio
    import fastai_audio.backbones.pretrained as pretrained
    import timm
    import torchvision
    from huggingface_hub import constants
    import huggingface_hub.utils._http as hf_http
    from fastai.learner import Learner
    from safetensors.torch import save_file
    from fastai_audio import Cnn14, synth_clip
    from training_setups import write

    def refuse(*a, **k): raise socket.gaierror(-2, 'Name or service not known (no network in this test)')
    monkeypatch.setattr(pretrained.socket, 'create_connection', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)
    # huggingface_hub retries a refused connection with back-off sleeps (70 s in all for the README's wav2vec2 block,
    # then it reads its cache): the same retries here, without the waits
    monkeypatch.setattr(hf_http, 'time', _NoWaiting())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'torch_hub'))
    monkeypatch.setattr(constants, 'HF_HUB_CACHE', str(tmp_path / 'hf'))
    for name, kw in SMALL.items(): monkeypatch.setattr(fastai_audio, name, partial(getattr(fastai_audio, name), **kw))
    fit = Learner.fit          # fit_one_cycle, fine_tune and cross_validate all end in Learner.fit
    monkeypatch.setattr(Learner, 'fit', lambda self, n_epoch, *a, **k: fit(self, min(n_epoch, MAX_EPOCHS), *a, **k))
    # pretrained weights as the real downloads leave them (random values, real names and shapes)
    src = pretrained.weights_source(torchvision.models.resnet18)
    src.local[0].parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), src.local[0])
    snap = tmp_path / 'hf' / f'models--{pretrained.weights_source("efficientnet_b0").hf_repo.replace("/", "--")}' / 'snapshots' / 'a1'
    snap.mkdir(parents=True)
    save_file(timm.create_model('efficientnet_b0').state_dict(), str(snap / 'model.safetensors'))
    # a Hugging Face audio model in the hub cache as from_pretrained leaves it (its config's layout, tiny sizes)
    transformers = pytest.importorskip('transformers')
    repo = tmp_path / 'hf' / 'models--facebook--wav2vec2-base'
    (repo / 'refs').mkdir(parents=True)
    (repo / 'refs' / 'main').write_text('a1')
    cfg = transformers.Wav2Vec2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                                      conv_dim=(8, 8), conv_stride=(5, 4), conv_kernel=(10, 4), num_conv_pos_embeddings=16,
                                      num_conv_pos_embedding_groups=2)
    transformers.Wav2Vec2Model(cfg).save_pretrained(repo / 'snapshots' / 'a1')
    transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(repo / 'snapshots' / 'a1')
    # the official PANNs checkpoint layout (a 1024-point window: the 32 kHz model), with narrow layers
    tiny = Cnn14(sample_rate=32000, window_size=1024, hop_size=320, mel_bins=64, fmin=50, fmax=14000, classes_num=527,
                 widths=(4, 8, 8, 8, 8, 16))
    torch.save({'iteration': 1, 'model': tiny.state_dict()}, tmp_path / 'Cnn14_mAP=0.431.pth')
    tiny16 = Cnn14(sample_rate=16000, window_size=512, hop_size=160, mel_bins=64, fmin=50, fmax=8000, classes_num=527,
                   widths=(4, 8, 8, 8, 8, 16))
    torch.save({'iteration': 1, 'model': tiny16.state_dict()}, tmp_path / 'Cnn14_16k_mAP=0.438.pth')
    rng = np.random.default_rng(0)
    write(tmp_path / 'long_recording.wav', np.concatenate([synth_clip(c, 44100, duration=1.5, rng=rng)[0] for c in ('sine', 'clicks')]), 44100)
    # the Hub: an upload lands in the cache, as a later download would leave it (no network here)
    from hub_setups import cache_repo
    import huggingface_hub
    monkeypatch.setattr(huggingface_hub.HfApi, 'create_repo', lambda self, repo_id, **kw: None)
    monkeypatch.setattr(huggingface_hub.HfApi, 'upload_folder', lambda self, *, folder_path, repo_id, **kw:
                        cache_repo(tmp_path / 'hf', repo_id, Path(folder_path)))
    (tmp_path / 'inbox').mkdir()
    for c in ('noise', 'square'): write(tmp_path / 'inbox' / f'{c}.wav', synth_clip(c, 16000, duration=1.2, rng=rng)[0], 16000)
    return tmp_path


def test_readme_python_blocks_run_in_order(offline_world):
    import matplotlib.pyplot as plt
    assert len(BLOCKS) >= 7, 'README lost its code blocks?'
    ns = {}
    for i, code in enumerate(BLOCKS):
        t0 = time.perf_counter()
        try: exec(compile(code, f'README.md python block {i + 1}', 'exec'), ns)
        except Exception as e: raise AssertionError(f'README python block {i + 1} failed:\n{code}') from e
        print(f'README python block {i + 1}: {time.perf_counter() - t0:.0f} s')     # shown with pytest -s
        plt.close('all')
    # what the blocks promise
    assert ns['label'] in ns['dls'].vocab and len(ns['probs']) == len(ns['dls'].vocab)
    assert sorted(p.name for p in Path('tagger').iterdir()) == ['README.md', 'config.json', 'model.onnx', 'model.safetensors',
                                                            'model.ts']
    assert ns['model'].classes == list(ns['learn'].dls.vocab)        # the model pushed to and loaded from the Hub
    assert list(ns['df'].file) == ['noise.wav', 'square.wav']
    assert 'over 5 folds' in ns['res'].summary()
    assert len(ns['dls'].skipped) == 0 and ns['learn'].recorder.values
