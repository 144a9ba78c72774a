"""Sharing an exported folder: the model card every export writes (the Hub's format, read back with
`huggingface_hub.ModelCard`), and the Hub both ways, offline: `load_exported('hf://user/repo')` from a cache laid
out exactly as the Hub client lays it out, the clear error when a repository is neither cached nor reachable,
and `push_to_hub` as the one upload call it makes."""
from pathlib import Path

import numpy as np
import pytest
import torch

from fastai_audio import audio_learner, export_waveform_model, set_seed
from fastai_audio.serving import HubModelError, load_exported, push_to_hub
from hub_setups import cache_repo

hub = pytest.importorskip('huggingface_hub')


@pytest.fixture(scope='module')
def tagger(classic_dls, tmp_path_factory):
    "An untrained resnet18 on the synthetic classes, exported (its network is rebuilt by name: `net` not needed)."
    import torchvision
    set_seed(0, reproducible=True)
    learn = audio_learner(classic_dls, torchvision.models.resnet18, pretrained=False)
    return learn, export_waveform_model(learn, tmp_path_factory.mktemp('share') / 'tagger', formats=('safetensors',))


@pytest.fixture(scope='module')
def tones(tmp_path_factory):
    "conftest's tone learner, a copy of this module's own: other tests validate the shared one with more metrics."
    from training_setups import tone_learner
    return tone_learner(tmp_path_factory.mktemp('tones'))


def test_the_export_writes_a_hub_model_card_with_the_training_facts(tones, tmp_path):
    """The tone learner trained 10 epochs under set_seed(0) on 12 clips, validated on 4: the card's YAML says the
    library, the task, the classes and the last validation's metrics; its text the front end, the rate, the facts."""
    tone_learner = tones
    folder = export_waveform_model(tone_learner, tmp_path / 'tones', formats=('safetensors',))
    card = hub.ModelCard.load(folder / 'README.md')
    data = card.data.to_dict()
    assert data['library_name'] == 'fastai_audio' and data['pipeline_tag'] == 'audio-classification'
    assert 'audio-classification' in data['tags'] and data['classes'] == list(tone_learner.dls.vocab)
    rec = tone_learner.recorder
    names = rec.metric_names[1:-1]
    last = dict(zip(names, rec.values[-1]))
    results = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert set(results) == set(names) - {'train_loss'}
    for m, v in results.items(): assert v == pytest.approx(last[m], abs=1e-4)
    text = card.text
    assert '| Epochs | 10 |' in text and '| Seed | 0 |' in text
    assert '| Training clips | 12 |' in text and '| Validation clips | 4 |' in text
    assert tone_learner.spec.front_end.describe()[1:] in text and 'Mono audio at 16000 Hz' in text
    assert 'One prediction covers windows of 0.5 s every 0.25 s' in text, text


def test_a_detector_card_is_tagged_sound_event_detection(tmp_path):
    "The card of a folder without its learner: the kind's tag, no pipeline tag the Hub does not have, no facts."
    from fastai_audio.backbones.sed import FrameClassifier
    from fastai_audio.runtime.frontend import FrontEnd
    from fastai_audio.serving import FrameDetector, save_waveform_model
    det = FrameDetector(FrontEnd(n_mels=32, mean=0.0, std=1.0),
                        FrameClassifier(torch.nn.Conv2d(1, 4, 3, padding=1), 2, hidden=8), ['bird', 'dog'])
    from fastai_audio.serving import SEDSpec
    spec = SEDSpec(FrontEnd(n_mels=32, mean=0.0, std=1.0), ('bird', 'dog'))
    folder = save_waveform_model(det, tmp_path / 'det', spec.to_dict(), formats=('safetensors',))
    card = hub.ModelCard.load(folder / 'README.md')
    assert 'sound-event-detection' in card.data.tags and card.data.pipeline_tag is None
    assert card.data.classes == ['bird', 'dog'] and 'Not recorded' in card.text


# --------------------------------------------------------------------------- the Hub, offline
@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    "An empty Hub cache, and a Hub that cannot be reached (a closed port on this machine)."
    monkeypatch.setattr(hub.constants, 'HF_HUB_CACHE', str(tmp_path / 'hub'))
    monkeypatch.setattr(hub.constants, 'ENDPOINT', 'http://127.0.0.1:9')
    monkeypatch.setenv('HF_HUB_DISABLE_IMPLICIT_TOKEN', '1')
    return tmp_path / 'hub'


def _probs(model, seconds=1.3):
    wave = torch.from_numpy(np.random.default_rng(0).standard_normal(int(16000 * seconds)).astype(np.float32) * 0.1)
    with torch.no_grad(): return model(wave)


@pytest.mark.parametrize('offline', [True, False], ids=['HF_HUB_OFFLINE', 'hub unreachable'])
def test_a_cached_repository_loads_offline_and_gives_the_folders_answer(tagger, hub_cache, monkeypatch, offline):
    learn, folder = tagger
    monkeypatch.setattr(hub.constants, 'HF_HUB_OFFLINE', offline)
    commit = cache_repo(hub_cache, 'me/tagger', folder)
    model = load_exported('hf://me/tagger')
    assert model.classes == list(learn.dls.vocab)
    assert torch.equal(_probs(model), _probs(load_exported(folder)))
    assert load_exported(f'hf://me/tagger@{commit}').classes == model.classes   # a commit, as pinned revisions are


@pytest.mark.parametrize('offline', [True, False], ids=['HF_HUB_OFFLINE', 'hub unreachable'])
def test_a_repository_neither_cached_nor_reachable_is_a_clear_error(hub_cache, monkeypatch, offline):
    monkeypatch.setattr(hub.constants, 'HF_HUB_OFFLINE', offline)
    why = 'HF_HUB_OFFLINE is set' if offline else 'the Hub could not be reached (http://127.0.0.1:9'
    with pytest.raises(HubModelError, match=r'hf://me/absent: not in the Hugging Face cache \(.*hub\) and '
                                            + why.replace('(', r'\(').replace('.', r'\.')):
        load_exported('hf://me/absent')
    with pytest.raises(ValueError, match="does not name a Hub repository: expected 'hf://user/repo'"):
        load_exported('hf://tagger')


def test_push_to_hub_uploads_the_exported_folder_in_one_commit(tagger, monkeypatch, tmp_path):
    """A folder goes up as it is; a learner is exported first (config.json, model card, weights). The upload is
    `HfApi.create_repo` then `HfApi.upload_folder`, recorded here instead of sent."""
    learn, folder = tagger
    calls = []

    def create_repo(self, repo_id, **kw): calls.append(('create_repo', repo_id, kw))

    def upload_folder(self, *, folder_path, repo_id, commit_message, **kw):
        calls.append(('upload_folder', repo_id, sorted(p.name for p in Path(folder_path).iterdir()), commit_message))
        return f'https://huggingface.co/{repo_id}/commit/0'
    monkeypatch.setattr(hub.HfApi, 'create_repo', create_repo)
    monkeypatch.setattr(hub.HfApi, 'upload_folder', upload_folder)
    assert push_to_hub(folder, 'me/tagger', private=True) == 'https://huggingface.co/me/tagger/commit/0'
    assert calls[0] == ('create_repo', 'me/tagger', {'private': True, 'exist_ok': True})
    assert calls[1][2] == ['README.md', 'config.json', 'model.safetensors']
    calls.clear()
    learn.push_to_hub('me/tagger2', formats=('safetensors', 'torchscript'))
    assert calls[1][:3] == ('upload_folder', 'me/tagger2', ['README.md', 'config.json', 'model.safetensors', 'model.ts'])
    with pytest.raises(FileNotFoundError, match='not a folder written by an exporter'): push_to_hub(tmp_path, 'me/x')
    with pytest.raises(TypeError, match='takes an exported folder or a fastai_audio learner'): push_to_hub(3, 'me/x')
