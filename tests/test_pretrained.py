"""Pretrained weights: found in torch's or Hugging Face's cache without the network, or one clear error at once.

The network is taken away by patching the connection the check makes (so these tests mean the same on a
machine with internet); the cached checkpoints are written in the real formats: a torchvision state dict at
torch's hub path, and timm's model.safetensors in a Hugging Face cache snapshot.
"""
import socket

import pytest
import timm
import torch
import torchvision

from fastai_audio import PretrainedWeightsError, audio_learner, models, weights_source
import fastai_audio.backbones.pretrained as pretrained


@pytest.fixture
def offline(monkeypatch, tmp_path):
    "No network, and empty torch hub and Hugging Face caches under tmp_path."
    def refuse(*args, **kwargs): raise socket.gaierror(-2, 'Name or service not known')
    monkeypatch.setattr(pretrained.socket, 'create_connection', refuse)
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'torch_hub'))
    from huggingface_hub import constants
    monkeypatch.setattr(constants, 'HF_HUB_CACHE', str(tmp_path / 'hf'))
    return tmp_path


def test_offline_torchvision_weights_are_one_clear_error(classic_dls, offline):
    with pytest.raises(PretrainedWeightsError) as e:
        audio_learner(classic_dls, models.resnet18)
    msg = str(e.value)
    assert 'resnet18' in msg and 'https://download.pytorch.org/models/resnet18-f37072fd.pth' in msg
    assert str(offline / 'torch_hub' / 'checkpoints' / 'resnet18-f37072fd.pth') in msg
    assert 'Name or service not known' in msg and 'pretrained=False' in msg


def test_offline_timm_weights_are_one_clear_error_without_retries(classic_dls, offline, monkeypatch):
    def no_download(*a, **k): raise AssertionError('the hub was asked: its retries take most of a minute')
    monkeypatch.setattr('timm.models._hub.hf_hub_download', no_download)
    with pytest.raises(PretrainedWeightsError, match=r'resnet18.*https://huggingface.co/timm/resnet18\.a1_in1k.*'
                                                     r'Name or service not known.*hf download timm/resnet18\.a1_in1k.*'
                                                     r'pretrained_cfg_overlay.*pretrained=False'):
        audio_learner(classic_dls, 'resnet18')
    monkeypatch.setattr('huggingface_hub.constants.HF_HUB_OFFLINE', True)
    with pytest.raises(PretrainedWeightsError, match='HF_HUB_OFFLINE'):
        audio_learner(classic_dls, 'resnet18')


def test_cached_torchvision_checkpoint_is_used_offline(classic_dls, offline):
    src = weights_source(models.resnet18)
    ref = torchvision.models.resnet18()
    src.local[0].parent.mkdir(parents=True)
    torch.save(ref.state_dict(), src.local[0])
    learn = audio_learner(classic_dls, models.resnet18)
    conv = learn.model[0][0]
    torch.testing.assert_close(conv.weight, ref.conv1.weight.sum(1, keepdim=True))     # summed to one channel
    torch.testing.assert_close(learn.model[0][4][0].conv1.weight, ref.layer1[0].conv1.weight)


def test_cached_timm_checkpoint_is_used_offline(classic_dls, offline, monkeypatch):
    from safetensors.torch import save_file
    def no_download(*a, **k): raise AssertionError('a cached file must not send timm to the hub')
    monkeypatch.setattr('timm.models._hub.hf_hub_download', no_download)
    ref = timm.create_model('resnet18', pretrained=False)
    snap = offline / 'hf' / 'models--timm--resnet18.a1_in1k' / 'snapshots' / '0123abc'
    snap.mkdir(parents=True)
    save_file(ref.state_dict(), str(snap / 'model.safetensors'))
    assert weights_source('resnet18').cached() == snap / 'model.safetensors'
    learn = audio_learner(classic_dls, 'resnet18')
    body = learn.model[0].model
    torch.testing.assert_close(body.conv1.weight, ref.conv1.weight.sum(1, keepdim=True))
    torch.testing.assert_close(body.layer1[0].conv1.weight, ref.layer1[0].conv1.weight)


def test_a_download_that_fails_midway_is_the_same_clear_error(classic_dls, offline, monkeypatch):
    from urllib.error import URLError
    monkeypatch.setattr(pretrained, '_unreachable', lambda url, timeout=5.0: None)      # the host answers...
    def fail(*a, **k): raise URLError('connection reset by peer')                     # ...the download does not
    monkeypatch.setattr(torch.hub, 'download_url_to_file', fail)
    with pytest.raises(PretrainedWeightsError, match=r'resnet18-f37072fd\.pth \(URLError: .*connection reset.*'
                                                     r'pretrained=False') as e:
        audio_learner(classic_dls, models.resnet18)
    assert isinstance(e.value.__cause__, URLError)


def test_from_scratch_needs_no_network(classic_dls, offline):
    assert audio_learner(classic_dls, models.resnet18, pretrained=False).model is not None
