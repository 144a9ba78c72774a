"The speed options: pinned memory and non-blocking copies, mixed precision, channels-last, torch.compile."
import pytest
import torch
from fastai.callback.core import Callback
from fastai.callback.channelslast import ChannelsLast
from fastai.callback.fp16 import AMPMode, MixedPrecision

import fastai_audio.data.blocks as data_mod
from conftest import first_batches
from fastai_audio import AudioDL, CompileModel, audio_learner, load_learner, models, set_seed


def _batches(dl, n=2):
    set_seed(0)
    return first_batches(dl, n)


def test_loaders_are_audio_dls_pinned_only_with_cuda(classic_dls):
    assert isinstance(classic_dls.train, AudioDL) and isinstance(classic_dls.valid, AudioDL)
    assert classic_dls.train.pin_memory == torch.cuda.is_available()
    assert isinstance(classic_dls.test_dl(classic_dls.valid_ds.items[:2]), AudioDL)


def test_pinned_cuda_loader_copies_non_blocking_and_batches_are_unchanged(classic_dls, monkeypatch):
    dl = classic_dls.valid.new(shuffle=False)
    reference = _batches(dl)
    calls = []

    def fake_to_device(b, device=None, non_blocking=False):      # records the copy instead of needing a GPU
        calls.append((torch.device(device).type, non_blocking))
        return b
    monkeypatch.setattr(data_mod, 'to_device', fake_to_device)
    dl.pin_memory, dl.device = True, torch.device('cuda')
    try:
        got = _batches(dl)
    finally:
        dl.pin_memory, dl.device = False, None
    assert calls and all(c == ('cuda', True) for c in calls)
    for (x0, y0), (x1, y1) in zip(reference, got):
        torch.testing.assert_close(x1, x0, atol=0, rtol=0)
        assert torch.equal(y0, y1)


def test_mixed_precision_and_channels_last_options(classic_dls):
    learn = audio_learner(classic_dls, models.resnet18, pretrained=False, mixed_precision='bf16', channels_last=True)
    mp = [cb for cb in learn.cbs if isinstance(cb, MixedPrecision)]
    assert len(mp) == 1 and mp[0].amp_mode == AMPMode.BF16
    assert any(isinstance(cb, ChannelsLast) for cb in learn.cbs)
    fp16 = audio_learner(classic_dls, models.resnet18, pretrained=False, mixed_precision='fp16')
    assert [cb.amp_mode for cb in fp16.cbs if isinstance(cb, MixedPrecision)] == [AMPMode.FP16]
    with pytest.raises(ValueError, match="None, 'fp16' or 'bf16', got 'half'"):
        audio_learner(classic_dls, models.resnet18, pretrained=False, mixed_precision='half')


def test_channels_last_trains_in_that_format(classic_dls):
    set_seed(0)
    learn = audio_learner(classic_dls, models.resnet18, pretrained=False, channels_last=True)
    learn.fit(1, 1e-3)
    conv = learn.model[0][0]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.isfinite(torch.tensor(learn.recorder.losses)).all()


class _SeesCompiled(Callback):
    def before_batch(self): self.seen = getattr(self, 'seen', []) + [self.model._compiled_call_impl is not None]


def test_compile_is_in_place_for_the_fit_only(classic_dls, tmp_path):
    set_seed(0)
    learn = audio_learner(classic_dls, models.resnet18, pretrained=False, compile=dict(backend='eager'))
    keys = list(learn.model.state_dict())
    probe = _SeesCompiled()
    learn.fit(1, 1e-3, cbs=probe)
    assert probe.seen and all(probe.seen)                  # every training and validation batch ran compiled
    assert learn.model._compiled_call_impl is None          # eager again: picklable, exportable
    assert list(learn.model.state_dict()) == keys           # no '_orig_mod.' prefix
    assert torch.isfinite(torch.tensor(learn.recorder.losses)).all()
    learn.export(tmp_path / 'compiled.pkl')
    f = classic_dls.valid_ds.items[0]
    torch.testing.assert_close(load_learner(tmp_path / 'compiled.pkl').predict(f)[2], learn.predict(f)[2])
    assert [type(cb) for cb in learn.cbs if isinstance(cb, CompileModel)] == [CompileModel]


@pytest.mark.skipif(not torch.cuda.is_available(), reason='no GPU on this machine')
def test_bf16_channels_last_pinned_on_the_gpu(synth_path):
    from fastai_audio import AudioItemList, NSYNTH_PATTERN, get_frequency_batch_transforms
    dls = (AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
           .databunch(bs=8, tfms=get_frequency_batch_transforms(), num_workers=0, device='cuda'))
    assert dls.train.pin_memory
    seen = []

    class _Input(Callback):
        def before_batch(self): seen.append((self.xb[0].device.type, self.xb[0].dtype))
    learn = audio_learner(dls, models.resnet18, pretrained=False, mixed_precision='bf16', channels_last=True)
    learn.fit(1, 1e-3, cbs=_Input())
    assert seen and all(s == ('cuda', torch.float32) for s in seen)    # the front end stays float32
    assert torch.isfinite(torch.tensor(learn.recorder.losses)).all()
