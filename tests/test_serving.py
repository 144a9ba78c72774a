"""The one served format and its one loader: every exported folder (clip classifier, SED detector, embedding
classifier) says its `kind` and `format_version`, and `fastai_audio.serving.load_exported` loads each of them in a
process where no training library can be imported, giving what the model gave in the process that trained it.
Folders in the layouts written before format 3 still load."""
import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import tone, write
from fastai_audio import (AudioEmbedder, AudioItemList, AudioModelSpec, EmbeddingClassifier, NSYNTH_PATTERN,
                          audio_learner, embedding_dataloaders, embedding_learner, export_embedding_model,
                          export_sed_model, export_waveform_model, load_sed_model, load_waveform_model,
                          sed_dataloaders, sed_learner, set_seed, waveform_model)
from fastai_audio.serving import SEDSpec, load_exported, read_config
from fastai_audio.serving.config import FORMAT_VERSION

ROOT = Path(__file__).resolve().parent.parent
#: what a served model must never need (tests/test_layers.py keeps the torch-only layers from importing them)
BLOCKED = ('fastai', 'fastcore', 'fasttransform', 'fastprogress', 'fastdownload', 'librosa', 'matplotlib', 'pandas',
           'plum', 'torchaudio')


# --------------------------------------------------------------------------- one small model of each kind
@pytest.fixture(scope='module')
def classifier(synth_path):
    "An untrained resnet18 clip classifier on 0.5 s crops: its network is described, so it is rebuilt by name."
    dls = (AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
           .databunch(bs=8, duration=0.5, num_workers=0))
    import torchvision
    set_seed(0, reproducible=True)
    return audio_learner(dls, torchvision.models.resnet18, pretrained=False)


@pytest.fixture(scope='module')
def detector(tmp_path_factory):
    "An untrained SED learner (resnet18 body) on four 2 s soundscapes."
    import torchvision
    from fastai_audio import make_soundscapes
    src = tmp_path_factory.mktemp('serving_src')
    for i in range(2):
        for label, f in (('low', 300.0), ('high', 3000.0)):
            write(src / f'{label}_x_{i:03d}-000-000.wav', tone(f, 16000, 0.6), 16000)
    scapes = make_soundscapes(src, tmp_path_factory.mktemp('serving_scapes'), n=4, duration=2.0, events=(1, 2),
                              event_duration=(0.3, 0.6), seed=0)
    dls = sed_dataloaders(scapes / 'events.csv', scapes, seed=0, bs=4, num_workers=0)
    set_seed(0)
    return sed_learner(dls, torchvision.models.resnet18, pretrained=False)


@pytest.fixture(scope='module')
def embedding(classifier, tmp_path_factory):
    """(embedder, head learner): the classifier's body as the embedder, an untrained head on the frame embeddings
    of a second, smaller synthetic set (one clip per class and split: embedding is the slow part)."""
    from fastai_audio.datasets.synth import make_synthetic_dataset
    few = make_synthetic_dataset(tmp_path_factory.mktemp('few'), n_train=1, n_valid=1, seed=2)
    dls = AudioItemList.from_folder(few).split_by_folder().label_from_re(NSYNTH_PATTERN).databunch(bs=4, num_workers=0)
    emb = AudioEmbedder.from_learner(classifier)
    edls = embedding_dataloaders(emb, dls, num_workers=0)
    set_seed(0)
    return emb, embedding_learner(edls)


@pytest.fixture(scope='module')
def exported(tmp_path_factory, classifier, detector, embedding):
    """{kind: (folder, the in-process served module)}: each kind exported (safetensors + config.json) by this
    release's exporter, next to the module the learner serves as."""
    root = tmp_path_factory.mktemp('exported')
    emb, head = embedding
    return {
        'classifier': (export_waveform_model(classifier, root / 'tagger', formats=('safetensors',)),
                       waveform_model(classifier)),
        'sed': (export_sed_model(detector, root / 'detector', formats=('safetensors',)), detector.detector()),
        'embedding': (export_embedding_model(emb, head, root / 'embed_tagger', formats=('safetensors',)),
                      EmbeddingClassifier(emb, head.model, multi_label=False, classes=head.dls.vocab).eval()),
    }


def _wave(seconds: float = 1.3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (tone(523.0, 16000, seconds) + 0.05 * rng.standard_normal(int(16000 * seconds))).astype(np.float32)


def _run(model, y: np.ndarray) -> np.ndarray:
    with torch.no_grad(): return model(torch.from_numpy(y)).numpy()


# --------------------------------------------------------------------------- the format
def test_every_config_says_its_kind_and_format(exported, classifier, detector):
    kinds = {kind: read_config(folder) for kind, (folder, _) in exported.items()}
    assert {k: (c['kind'], c['format_version']) for k, c in kinds.items()} == \
        {k: (k, FORMAT_VERSION) for k in ('classifier', 'sed', 'embedding')} and FORMAT_VERSION == 3
    assert kinds['classifier'] == classifier.spec.to_dict()
    assert AudioModelSpec.from_dict(kinds['classifier']) == classifier.spec
    assert kinds['sed'] == detector.spec.to_dict()                          # the SED learner records its spec too
    assert SEDSpec.from_dict(kinds['sed']) == detector.spec
    assert kinds['sed']['frame_seconds'] == pytest.approx(256 / 16000)      # the frame grid, for model.ts users
    emb = kinds['embedding']
    assert emb['encoder']['source'] == 'learner' and emb['encoder']['network']['name'] == 'resnet18'
    assert emb['head'] == dict(dim=512, n_out=len(classifier.dls.vocab), hidden=512, p=0.3)
    assert (emb['window'], emb['hop'], emb['sample_rate']) == (0.96, 0.48, 16000)


def test_load_model_gives_the_served_module_of_each_kind(exported):
    y = _wave()
    for kind, (folder, want) in exported.items():
        model = load_exported(folder)
        assert type(model) is type(want) and not model.training and model.config == read_config(folder)
        np.testing.assert_allclose(_run(model, y), _run(want, y), atol=1e-5, rtol=0)
    assert type(load_waveform_model(exported['classifier'][0])).__name__ == 'WaveformClassifier'
    assert type(load_sed_model(exported['sed'][0])).__name__ == 'FrameDetector'


def test_a_loader_for_one_kind_names_the_folder_and_the_kind_it_holds(exported):
    sed, tagger, embed = (exported[k][0] for k in ('sed', 'classifier', 'embedding'))
    with pytest.raises(ValueError, match=rf"{sed} holds a model of kind 'sed' \(sound event detector\), not "
                                         r"'classifier' \(clip classifier\): load it with load_exported or "
                                         r"load_sed_model"):
        load_waveform_model(sed)
    with pytest.raises(ValueError, match=rf"{tagger} holds a model of kind 'classifier' \(clip classifier\), not "
                                         r"'sed' \(sound event detector\): load it with load_exported$"):
        load_sed_model(tagger)
    with pytest.raises(ValueError, match=rf"{embed} holds a model of kind 'embedding' \(embedding classifier\)"):
        load_waveform_model(embed)


def test_a_newer_format_or_an_unknown_kind_is_refused(exported, tmp_path):
    folder = shutil.copytree(exported['sed'][0], tmp_path / 'future')
    cfg = read_config(folder)
    (folder / 'config.json').write_text(json.dumps({**cfg, 'format_version': FORMAT_VERSION + 1}))
    with pytest.raises(ValueError, match=f'SEDSpec format_version {FORMAT_VERSION + 1} is newer than this code reads'):
        load_exported(folder)
    (folder / 'config.json').write_text(json.dumps({**cfg, 'kind': 'vocoder'}))
    with pytest.raises(ValueError, match=r"unknown model kind 'vocoder' \(known: classifier, sed, embedding\)"):
        load_exported(folder)


# --------------------------------------------------------------------------- torch alone
BLOCKER = """
import importlib.abc, importlib.machinery, sys
BLOCKED = {blocked!r}
# importing any module of a training library, from anywhere, raises ImportError; a probe such as
# importlib.util.find_spec (torch runs one on pandas) gets a spec without origin, and only loading it fails
class Blocked(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCKED: return importlib.machinery.ModuleSpec(name, self)
    def create_module(self, spec): raise ImportError(f'{{spec.name}} is blocked: a served model must not need it')
    def exec_module(self, module): pass
sys.meta_path.insert(0, Blocked())
import pickle
def no_pickle(*a, **k): raise AssertionError('pickle used')
pickle.load = pickle.loads = no_pickle
sys.path.insert(0, {root!r})
"""


def test_each_kind_loads_and_runs_with_torch_alone(exported, tmp_path):
    """In a fresh interpreter where fastai, fastcore, fasttransform, fastprogress, fastdownload, librosa,
    matplotlib, pandas, plum and torchaudio cannot be imported (and pickle is refused), `load_exported` rebuilds
    every kind and gives the in-process module's outputs within 1e-5."""
    y = _wave(1.7, 1)
    np.save(tmp_path / 'y.npy', y)
    for kind, (folder, want) in exported.items(): np.save(tmp_path / f'{kind}.npy', _run(want, y))
    folders = {kind: str(folder) for kind, (folder, _) in exported.items()}
    code = BLOCKER.format(blocked=BLOCKED, root=str(ROOT)) + f"""
import numpy as np, torch
from fastai_audio.serving import load_exported
import fastai_audio
assert fastai_audio.__file__.startswith({str(ROOT)!r}), fastai_audio.__file__
y = torch.from_numpy(np.load({str(tmp_path / 'y.npy')!r}))
for kind, folder in {folders!r}.items():
    model = load_exported(folder)
    with torch.no_grad(): got = model(y).numpy()
    np.testing.assert_allclose(got, np.load({str(tmp_path)!r} + f'/{{kind}}.npy'), atol=1e-5, rtol=0)
    print(kind, type(model).__name__, got.shape)
bad = sorted(m for m in sys.modules if m.split('.')[0] in BLOCKED)
assert not bad, bad
"""
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    n = len(exported['classifier'][1].classes)
    frames = exported['sed'][1](torch.from_numpy(y)).shape
    assert res.stdout.split('\n')[:3] == [f'classifier WaveformClassifier ({n},)',
                                          f'sed FrameDetector ({frames[0]}, {frames[1]})',
                                          f'embedding EmbeddingClassifier ({n},)']


def test_the_blocker_blocks(tmp_path):
    "The check above is not vacuous: with the blocker installed, importing fastai fails."
    code = BLOCKER.format(blocked=BLOCKED, root=str(ROOT)) + "import fastai.vision.all\n"
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode != 0 and 'ImportError: fastai is blocked' in res.stderr


# --------------------------------------------------------------------------- folders of the older layouts
def _old_folder(new: Path, folder: Path, config: dict) -> Path:
    "`new`'s weights under a config.json written by hand in an older layout."
    folder.mkdir()
    shutil.copy(new / 'model.safetensors', folder / 'model.safetensors')
    (folder / 'config.json').write_text(json.dumps(config))
    return folder


def test_format_2_folders_of_each_kind_still_load(exported, classifier, detector, embedding, tmp_path):
    """Folders as the exporters wrote them before format 3: a clip classifier's spec without `kind`
    (format_version 2), a detector's and an embedding model's config with `kind` but no version; each loads
    and gives the in-process module's outputs (the embedding model with `net=`: format 2 did not describe it)."""
    y = _wave(1.2, 2)
    spec, (tagger, want_tagger) = classifier.spec, exported['classifier']
    old = dict(format_version=2, front_end=spec.front_end.to_dict(), classes=list(spec.classes),
               multi_label=spec.multi_label, duration=spec.duration, pad=spec.pad, window=spec.window, hop=spec.hop,
               agg=spec.agg, network=spec.network, sample_rate=spec.front_end.sample_rate)
    model = load_waveform_model(_old_folder(tagger, tmp_path / 'tagger2', old))
    assert model.spec == spec
    np.testing.assert_allclose(_run(model, y), _run(want_tagger, y), atol=1e-5, rtol=0)

    (det_folder, det) = exported['sed']
    fe = detector.spec.front_end
    old = dict(kind='sed', front_end=fe.to_dict(), classes=det.classes, frame_seconds=det.frame_seconds,
               start=det.start, network=detector.spec.network)
    model = load_sed_model(_old_folder(det_folder, tmp_path / 'detector2', old))
    assert model.spec == detector.spec
    np.testing.assert_allclose(_run(model, y), _run(det, y), atol=1e-5, rtol=0)

    emb, head = embedding
    (emb_folder, want) = exported['embedding']
    old = dict(kind='embedding', embedder=emb.description(), sample_rate=emb.sample_rate,
               classes=[str(v) for v in head.dls.vocab], multi_label=False)
    folder = _old_folder(emb_folder, tmp_path / 'embed2', old)
    with pytest.raises(ValueError, match=r'config.json: the config does not say how to rebuild the encoder: pass '
                                         r'net=\(encoder, head\)'):
        load_exported(folder)
    encoder, net_head = copy.deepcopy(emb.encoder), copy.deepcopy(head.model)
    with torch.no_grad():                                   # other weights: the folder's must replace them
        for p in [*encoder.parameters(), *net_head.parameters()]: p.add_(1.0)
    model = load_exported(folder, net=(encoder, net_head))
    assert type(model) is EmbeddingClassifier and (model.embedder.window, model.embedder.hop) == (0.96, 0.48)
    np.testing.assert_allclose(_run(model, y), _run(want, y), atol=1e-5, rtol=0)


# --------------------------------------------------------------------------- encoders described and rebuilt
def test_panns_and_crepe_encoders_are_rebuilt_from_their_description():
    from fastai_audio.backbones.crepe import Crepe
    from fastai_audio.backbones.embedders import CrepeEncoder, PannsEncoder
    from fastai_audio.backbones.panns import Cnn10
    from fastai_audio.serving.embedding import _build_encoder as build_encoder, _describe_encoder as describe_encoder
    torch.manual_seed(0)
    tiny = Cnn10(sample_rate=16000, window_size=512, hop_size=160, fmax=8000, classes_num=7, widths=(4, 8, 8, 16))
    y = torch.from_numpy(_wave(1.0)).reshape(4, -1)
    for enc in (PannsEncoder(tiny).eval(), CrepeEncoder(Crepe('tiny'), 'penultimate', 256).eval()):
        d = describe_encoder(enc)
        again = build_encoder(json.loads(json.dumps(d))).eval()
        assert type(again) is type(enc) and describe_encoder(again) == d
        again.load_state_dict(enc.state_dict(), strict=True)
        with torch.no_grad(): torch.testing.assert_close(again(y), enc(y), atol=1e-5, rtol=0)
    assert describe_encoder(torch.nn.Linear(3, 4)) is None
