"Frame-level models: shapes back at the front end's frame rate, clip pooling in closed form, a loss that trains."
import pytest
import torch
from torch import nn

from fastai_audio import event_targets, Event, decode_events
from fastai_audio.backbones.sed import CLIP_POOLS, FrameClassifier, SEDLoss, pool_frames


def test_clip_pooling_closed_forms():
    p = torch.full((2, 10, 3), 0.3)
    for how in ('max', 'mean', 'linear_softmax'):
        torch.testing.assert_close(pool_frames(p, how), torch.full((2, 3), 0.3))
    q = torch.zeros(1, 4, 1)
    q[0, :, 0] = torch.tensor([0.0, 0.0, 0.5, 1.0])
    assert float(pool_frames(q, 'max')) == 1.0 and float(pool_frames(q, 'mean')) == 0.375
    assert float(pool_frames(q, 'linear_softmax')) == pytest.approx((0.25 + 1.0) / 1.5)
    w = torch.tensor([0.0, 0.0, 0.0, 1.0])[None, :, None]
    assert float(pool_frames(q, 'attention', w)) == 1.0
    with pytest.raises(ValueError, match='unknown clip pooling'):
        pool_frames(q, 'median')


@pytest.mark.parametrize('pool', CLIP_POOLS)
def test_frame_logits_come_back_at_the_input_frame_rate(pool):
    import torchvision
    from fastai.vision.learner import create_body
    body = create_body(torchvision.models.resnet18(), n_in=1, pretrained=False)
    model = FrameClassifier(body, n_classes=3, pool=pool)
    frames, clip = model(torch.randn(2, 1, 64, 101))
    assert frames.shape == (2, 101, 3) and clip.shape == (2, 3)
    body_params, head = FrameClassifier.splitter(model)
    assert len(body_params) + len(head) == len(list(model.parameters()))


def _bands(n, rng):
    "Spectrograms (n, 1, 16, 80): class 0 a bright low band, class 1 a high one, each over a random span of frames."
    x = torch.randn(n, 1, 16, 80, generator=rng) * 0.3
    y = torch.zeros(n, 80, 2)
    for i in range(n):
        for c, rows in ((0, slice(0, 4)), (1, slice(12, 16))):
            if torch.rand(1, generator=rng) < 0.7:
                a = int(torch.randint(0, 60, (1,), generator=rng)); b = a + int(torch.randint(8, 20, (1,), generator=rng))
                x[i, 0, rows, a:b] += 2.0
                y[i, a:b, c] = 1
    return x, y


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_a_frame_model_learns_when_each_band_sounds(seed):
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    body = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d((2, 1)),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d((2, 2)))
    model = FrameClassifier(body, 2, hidden=32, p=0.0)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    loss_func = SEDLoss()
    for _ in range(150):
        x, y = _bands(16, rng)
        loss = loss_func(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
    model.eval()
    x, y = _bands(32, rng)
    with torch.no_grad(): frames, clip = model(x)
    on, truth = torch.sigmoid(frames) > 0.5, y > 0
    f1 = 2 * (on & truth).sum() / (on.sum() + truth.sum())   # frame F1: 0 for all-off, ~0.2 for coin flips
    assert f1 > 0.8
    assert ((torch.sigmoid(clip) > 0.5) == (y.max(1).values > 0)).float().mean() > 0.9


@pytest.fixture(scope='module')
def scapes(tmp_path_factory):
    import numpy as np
    from conftest import tone, write
    from fastai_audio import make_soundscapes
    src = tmp_path_factory.mktemp('sed_src')
    for i in range(3):
        for label, f in (('low', 300.0), ('high', 3000.0)):
            write(src / f'{label}_x_{i:03d}-000-000.wav', tone(f, 16000, 0.8), 16000)
    return make_soundscapes(src, tmp_path_factory.mktemp('scapes'), n=8, duration=3.0, events=(1, 3),
                            event_duration=(0.3, 0.8), seed=0)


def test_frame_targets_line_up_with_the_front_end_that_made_the_batch(scapes):
    from fastai_audio import get_frequency_batch_transforms, read_events, sed_dataloaders
    events = read_events(scapes / 'events.csv')
    for hop in (256, 512):
        dls = sed_dataloaders(scapes / 'events.csv', scapes, seed=0, bs=4, num_workers=0,
                              batch_tfms=get_frequency_batch_transforms(hop_length=hop, n_mels=40))
        assert dls.vocab == ['high', 'low']
        x, y = dls.valid.one_batch()
        assert y.shape == (x.shape[0], x.shape[-1], 2)
        names = [f.name for f in dls.valid.items][:x.shape[0]]
        for i, name in enumerate(names):                        # the same targets as event_targets of the file
            want = event_targets([e for e in events if e.filename == name], x.shape[-1], dls.vocab, hop, 16000)
            torch.testing.assert_close(y[i].cpu(), want)


def test_bad_event_rows_are_named_or_skipped(scapes, tmp_path):
    from fastai_audio import sed_dataloaders
    text = (scapes / 'events.csv').read_text().rstrip('\n').splitlines()
    bad = tmp_path / 'events.csv'
    bad.write_text('\n'.join(text + ['ghost.wav,0.5,1.0,low', 'scape_0000.wav,2.5,7.0,high']) + '\n')
    with pytest.raises(ValueError, match=rf"line {len(text) + 1}: file 'ghost.wav' is not under"):
        sed_dataloaders(bad, scapes, bs=4, num_workers=0)
    bad.write_text('\n'.join(text + ['scape_0000.wav,2.5,7.0,high']) + '\n')
    with pytest.raises(ValueError, match=rf"line {len(text) + 1}: offset 7.0 s is past the end of scape_0000.wav"):
        sed_dataloaders(bad, scapes, bs=4, num_workers=0)
    with pytest.warns(UserWarning, match='1 rows .* left out'):
        dls = sed_dataloaders(bad, scapes, bs=4, num_workers=0, on_error='skip', seed=0)
    assert [line for line, _ in dls.skipped_rows] == [len(text) + 1]


def test_a_frame_model_trains_on_the_loaders(scapes):
    import torchvision
    from fastai.learner import Learner
    from fastai.vision.learner import create_body
    from fastai_audio import sed_dataloaders
    dls = sed_dataloaders(scapes / 'events.csv', scapes, seed=0, bs=4, num_workers=0)
    model = FrameClassifier(create_body(torchvision.models.resnet18(), n_in=1, pretrained=False), dls.c)
    learn = Learner(dls, model, loss_func=SEDLoss(), splitter=FrameClassifier.splitter)
    learn.fit(1, 1e-3)
    assert all(torch.isfinite(torch.tensor(v[0])) for v in learn.recorder.values)


def test_sed_learner_finds_events_and_scores_them(scapes, tmp_path):
    import torchvision
    from fastai_audio import EventF1, read_events, sed_dataloaders, sed_learner, set_seed
    dls = sed_dataloaders(scapes / 'events.csv', scapes, seed=0, bs=4, num_workers=0)
    set_seed(0)
    learn = sed_learner(dls, torchvision.models.resnet18, pretrained=False)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    names = [m.name for m in learn.metrics]
    assert names == ['event_f1', 'segment_f1']
    f = dls.valid.items[0]
    df = learn.predict_events(f, threshold=0.0)              # every frame above 0: one event per class, whole file
    assert list(df.columns) == ['filename', 'onset', 'offset', 'event_label', 'score']
    assert set(df.event_label) == {'high', 'low'} and (df.filename == f.name).all()
    assert df.onset.min() == 0.0 and df.offset.max() == pytest.approx(3.0, abs=0.04)
    out = learn.predict_events_folder(scapes, csv=tmp_path / 'found.csv', threshold=0.99)
    assert (tmp_path / 'found.csv').exists() and set(out.columns) >= {'onset', 'offset', 'event_label'}


def test_event_f1_metric_is_one_for_perfect_frames():
    from types import SimpleNamespace
    from fastai_audio import AudioSpectrogram, FrontEnd
    from fastai_audio.learn.sed import EventF1
    y = torch.zeros(2, 100, 2)
    y[0, 10:40, 0] = 1; y[1, 50:90, 1] = 1
    x = AudioSpectrogram(torch.zeros(2, 1, 40, 100))
    x.settings = FrontEnd(sample_rate=16000, hop_length=160)
    for kind in ('event', 'segment'):
        m = EventF1(kind)
        m.reset()
        m.accumulate(SimpleNamespace(xb=(x,), pred=(torch.logit(y.clamp(0.01, 0.99)), None), y=y))
        assert m.value == 1.0
        m.reset()
        swapped = y[..., [1, 0]]                              # each event given to the other class
        m.accumulate(SimpleNamespace(xb=(x,), pred=(torch.logit(swapped.clamp(0.01, 0.99)), None), y=y))
        assert m.value == 0.0


def test_show_events_draws_spectrogram_roll_and_probabilities(scapes):
    import matplotlib.pyplot as plt
    import torchvision
    from fastai_audio import read_events, sed_dataloaders, sed_learner
    dls = sed_dataloaders(scapes / 'events.csv', scapes, seed=0, bs=4, num_workers=0)
    learn = sed_learner(dls, torchvision.models.resnet18, pretrained=False)
    f = dls.valid.items[0]
    ref = [e for e in read_events(scapes / 'events.csv') if e.filename == f.name]
    plt.close('all')
    ax0, ax1, ax2 = learn.show_events(f, reference=ref, threshold=0.0)
    assert ax0.images and len(ax2.get_lines()) == 2
    bars = sum(len(c.get_paths()) for c in ax1.collections)
    assert bars == len(ref) + 2                           # the reference events, and one found event per class
    assert ax1.get_legend() is not None and ax2.get_legend() is not None
    plt.close('all')


def test_weak_frames_are_left_out_of_the_frame_loss_and_count_for_the_clip():
    "A -1 frame target (weak label) adds nothing to the frame term; its class is a positive clip target."
    logits = torch.randn(1, 6, 2)
    clip = torch.randn(1, 2)
    strong = torch.tensor([[[1., 0.], [1., 0.], [0., 0.], [0., 0.], [0., 0.], [0., 0.]]])
    weak = strong.clone()
    weak[0, :, 1] = -1.0                                      # class 1 sounds somewhere, frames unknown
    frame_only = SEDLoss(clip_weight=0)((logits, clip), weak)
    each = torch.nn.functional.binary_cross_entropy_with_logits(logits[0, :, 0], strong[0, :, 0], reduction='sum')
    torch.testing.assert_close(frame_only, each / 6)           # the six known frames of class 0, nothing else
    clip_only = SEDLoss(frame_weight=0)((logits, clip), weak)
    torch.testing.assert_close(clip_only, torch.nn.functional.binary_cross_entropy_with_logits(clip, torch.ones(1, 2)))


def test_weak_labels_mix_in_for_training_only(scapes, tmp_path):
    import shutil
    from fastai_audio import read_events, read_weak_labels, sed_dataloaders
    root = tmp_path / 'mixed'
    shutil.copytree(scapes, root)
    events = read_events(root / 'events.csv')
    weak_names = ['scape_0006.wav', 'scape_0007.wav']
    strong = [line for line in (root / 'events.csv').read_text().splitlines()
              if not any(line.startswith(n) for n in weak_names)]
    (root / 'strong.csv').write_text('\n'.join(strong) + '\n')
    labels = {n: sorted({e.event_label for e in events if e.filename == n}) for n in weak_names}
    (root / 'weak.tsv').write_text('filename\tevent_labels\n' + ''.join(f'{n}\t{",".join(v)}\n' for n, v in labels.items()))
    assert read_weak_labels(root / 'weak.tsv') == labels
    dls = sed_dataloaders(root / 'strong.csv', root, weak_csv=root / 'weak.tsv', valid_files=['scape_0000.wav'],
                          bs=8, num_workers=0, shuffle=False)
    assert {f.name for f in dls.valid.items} == {'scape_0000.wav'}
    train = [f.name for f in dls.train.items]
    assert set(weak_names) <= set(train) and len(train) == 7
    x, y = dls.train.one_batch()
    for i, name in enumerate(train[:len(y)]):
        row = y[i].cpu()
        if name in weak_names:                                  # -1 for the named classes in every frame, 0 else
            for c, cls in enumerate(dls.vocab):
                assert bool((row[:, c] == (-1.0 if cls in labels[name] else 0.0)).all())
        else: assert bool(((row == 0) | (row == 1)).all())
    with pytest.raises(ValueError, match='weak labels only'):
        sed_dataloaders(root / 'strong.csv', root, weak_csv=root / 'weak.tsv', valid_files=['scape_0006.wav'], bs=4)
    (root / 'both.tsv').write_text('filename\tevent_labels\nscape_0001.wav\tlow\n')
    with pytest.raises(ValueError, match=r'both.tsv, line 2: scape_0001.wav also has strong labels'):
        sed_dataloaders(root / 'strong.csv', root, weak_csv=root / 'both.tsv', bs=4)
    (root / 'twice.tsv').write_text('filename\tevent_labels\nscape_0006.wav\tlow\nscape_0006.wav\thigh\n')
    with pytest.raises(ValueError, match='line 3: scape_0006.wav is labelled again'):
        read_weak_labels(root / 'twice.tsv')


def test_exported_detector_gives_the_learners_frame_probabilities_and_events(scapes, tmp_path):
    import onnxruntime as ort
    import torchvision
    from fastai_audio import (export_sed_model, get_frequency_batch_transforms, load_audio, load_sed_model,
                              load_waveform_model, sed_dataloaders, sed_learner, set_seed)
    dls = sed_dataloaders(scapes / 'events.csv', scapes, seed=0, bs=4, num_workers=0,
                          batch_tfms=get_frequency_batch_transforms(hop_length=320, n_mels=32))
    set_seed(0)
    learn = sed_learner(dls, torchvision.models.resnet18, pretrained=False)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    out = export_sed_model(learn, tmp_path / 'detector')
    f = dls.valid.items[0]
    batch, x = learn._spectrogram(f)
    want = learn._frame_probs(x, batch)[0]                      # gated as the detector is
    wave = load_audio(f, sr=16000)[0]
    det = load_sed_model(out)
    with torch.no_grad(): got = det(wave)
    assert got.shape == want.shape == (x.shape[-1], 2)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)
    ts = torch.jit.load(str(out / 'model.ts'))
    for n in (len(wave), 16000 + 123):                         # any length
        with torch.no_grad(): torch.testing.assert_close(ts(wave[:n]), det(wave[:n]), atol=1e-4, rtol=0)
    sess = ort.InferenceSession(str(out / 'model.onnx'))
    onnx_probs = sess.run(None, {'waveform': wave[:20000].numpy()})[0]
    torch.testing.assert_close(torch.from_numpy(onnx_probs), det(wave[:20000]).detach(), atol=1e-4, rtol=0)
    ev = det.events(wave, threshold=0.3, filename=f.name)
    df = learn.predict_events(f, threshold=0.3)
    assert [(e.event_label, round(e.onset, 4), round(e.offset, 4)) for e in ev] == \
        [(r.event_label, round(r.onset, 4), round(r.offset, 4)) for r in df.itertuples()]
    with pytest.raises(ValueError, match='load_sed_model'):
        load_waveform_model(out)


def test_a_name_two_files_share_must_be_given_by_its_relative_path(scapes, tmp_path):
    import shutil
    from fastai_audio import sed_dataloaders
    root = tmp_path / 'splits'
    for split in ('a', 'b'): shutil.copytree(scapes, root / split)
    rows = (scapes / 'events.csv').read_text().splitlines()
    (root / 'bare.csv').write_text('\n'.join(rows) + '\n')
    with pytest.raises(ValueError, match=r"line 2: 'scape_0000.wav' names 2 files under .*a/scape_0000.wav, b/scape_0000.wav"):
        sed_dataloaders(root / 'bare.csv', root, bs=4)
    both = [rows[0]] + [f'{split}/{r}' for split in ('a', 'b') for r in rows[1:]]
    (root / 'both.csv').write_text('\n'.join(both) + '\n')
    dls = sed_dataloaders(root / 'both.csv', root, valid_files=[f'b/{r.split(",")[0]}' for r in rows[1:]], bs=4,
                          num_workers=0)
    assert {f.parent.name for f in dls.train.items} == {'a'} and {f.parent.name for f in dls.valid.items} == {'b'}
    assert len(dls.train.items) == len(dls.valid.items) == 8


def test_limit_time_stride_keeps_time_and_still_shrinks_frequency():
    import torchvision
    from fastai.vision.learner import create_body
    from fastai_audio.backbones.sed import limit_time_stride
    body = create_body(torchvision.models.resnet18(), n_in=1, pretrained=False)
    assert body(torch.zeros(1, 1, 64, 256)).shape[-2:] == (2, 8)               # 32x both ways
    limit_time_stride(body, 8)
    for frames in (256, 251, 40):
        assert body(torch.zeros(1, 1, 64, frames)).shape[-2:] == (2, -(-frames // 8))


def test_show_results_draws_each_clip_with_its_reference_and_predicted_events(scapes):
    import matplotlib.pyplot as plt
    import torchvision
    from fastai_audio import read_events, sed_dataloaders, sed_learner
    dls = sed_dataloaders(scapes / 'events.csv', scapes, seed=0, bs=4, num_workers=0)
    learn = sed_learner(dls, torchvision.models.resnet18, pretrained=False)
    plt.close('all')
    axes = learn.show_results(ds_idx=0, max_n=2, threshold=0.0)    # every frame above 0: one event per class a clip
    assert axes.shape == (2, 2)
    events = read_events(scapes / 'events.csv')
    for i, (spec, roll) in enumerate(axes):
        name = dls.train.items[i].name
        assert spec.images and spec.get_title() == name
        ref = [e for e in events if e.filename == name]
        ref_bars = sum(len(c.get_paths()) for c in roll.collections) - 2       # and one predicted event per class
        assert (1 <= ref_bars <= len(ref)) if ref else ref_bars == 0    # (frame targets join overlapping events)
        assert [t.get_text() for t in roll.get_legend().get_texts()][0].startswith('reference')
    fig = axes[0, 0].figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title = axes[1, 0].title.get_window_extent(renderer)              # the second clip's title, under the first roll
    assert not title.overlaps(axes[0, 1].get_window_extent(renderer))
    plt.close('all')


def test_show_events_draws_only_the_references_of_that_very_file(scapes, tmp_path):
    import matplotlib.pyplot as plt
    import torchvision
    from fastai_audio import Event, sed_dataloaders, sed_learner
    dls = sed_dataloaders(scapes / 'events.csv', scapes, seed=0, bs=4, num_workers=0)
    learn = sed_learner(dls, torchvision.models.resnet18, pretrained=False)
    f = dls.valid.items[0]
    ref = [Event(f'{f.parent.name}/{f.name}', 0.1, 0.5, 'low'), Event(f'elsewhere/{f.name}', 1.0, 1.5, 'low'),
           Event(f.name, 2.0, 2.5, 'high')]
    plt.close('all')
    _, roll, _ = learn.show_events(f, reference=ref, threshold=1.1)        # nothing predicted
    assert sum(len(c.get_paths()) for c in roll.collections) == 2          # not the one under elsewhere/
    plt.close('all')


def test_soft_frame_targets_keep_a_soft_clip_target():
    "MixUp-style frame targets of 0.3 give a clip target of 0.3, as BCE on the frames' maximum should."
    logits, clip = torch.zeros(1, 4, 1), torch.zeros(1, 1)
    target = torch.full((1, 4, 1), 0.3)
    got = SEDLoss(frame_weight=0)((logits, clip), target)
    torch.testing.assert_close(got, torch.nn.functional.binary_cross_entropy_with_logits(clip, torch.full((1, 1), 0.3)))


def test_silence_is_no_event_and_no_event_ends_past_the_file(scapes, tmp_path):
    "The level gate: silence and 1e-4 noise give no event even at threshold 0; an event never ends past the file."
    import numpy as np
    from conftest import write
    from fastai_audio import load_audio, sed_dataloaders, sed_learner, set_seed
    dls = sed_dataloaders(scapes / 'events.csv', scapes, seed=0, bs=4, num_workers=0)
    set_seed(0)
    learn = sed_learner(dls, torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU()))
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    det = learn.detector()                                                    # what export writes
    rng = np.random.default_rng(0)
    for name, wave in (('zeros', np.zeros(40000)), ('noise', 1e-4 * rng.standard_normal(40000))):
        f = write(tmp_path / f'{name}.wav', wave.astype(np.float32), 16000)
        assert learn.predict_events(f, threshold=0.0).empty, name
        assert det.events(load_audio(f, sr=16000)[0], threshold=0.0) == [], name
        assert float(learn.frame_probs(f).max()) == 0.0
    learn.gate_db = None
    assert float(learn.frame_probs(tmp_path / 'zeros.wav').max()) > 0          # the network alone hears something
    learn.gate_db = -60.0
    f = dls.valid.items[0]
    length = load_audio(f, sr=16000).shape[-1] / 16000
    everything = learn.predict_events(f, threshold=0.0)                    # every heard frame active
    assert len(everything) and everything.offset.max() == pytest.approx(length) and (everything.offset <= length).all()
    assert all(e.offset <= length for e in det.events(load_audio(f, sr=16000)[0], threshold=0.0))


def test_decoding_tuned_on_validation_travels_with_the_exported_detector(scapes, tmp_path):
    import torchvision
    from fastai_audio import PSDS, export_sed_model, load_audio, load_exported, sed_dataloaders, sed_learner, set_seed
    dls = sed_dataloaders(scapes / 'events.csv', scapes, seed=0, bs=4, num_workers=0)
    set_seed(0)
    learn = sed_learner(dls, torchvision.models.resnet18, pretrained=False)
    learn.metrics = [PSDS(), PSDS(dtc=0.1, gtc=0.1, alpha_ct=0.5)]
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(3, 3e-3)
    psds1, psds2 = (float(v) for v in learn.recorder.values[-1][2:4])
    assert 0 <= psds1 <= 1 and 0 <= psds2 <= 1
    table = learn.tune_decoding('segment')
    assert list(table.event_label) == ['high', 'low'] and (table.f1 >= table.f1_default).all()
    assert learn.decoding['threshold'] == table.threshold.tolist() and learn.decoding['metric'] == 'segment'
    assert learn.spec.to_dict()['decoding']['median'] == table['median'].tolist()
    det = load_exported(export_sed_model(learn, tmp_path / 'det', formats=('safetensors',)))
    assert det.decoding['threshold'] == learn.decoding['threshold']
    for f in dls.valid.items:
        wave = load_audio(f, sr=16000)[0]
        want = [(r.event_label, round(r.onset, 4), round(r.offset, 4)) for r in learn.predict_events(f).itertuples()]
        assert [(e.event_label, round(e.onset, 4), round(e.offset, 4)) for e in det.events(wave)] == want
    with pytest.raises(ValueError, match='odd'):
        learn.tune_decoding(medians=(2,))


def test_a_crnn_trains_and_exports_like_the_rest(scapes, tmp_path):
    "temporal='gru': a bidirectional GRU after the body; rebuilt from config.json, equal in every format."
    import onnxruntime as ort
    import torchvision
    from fastai_audio import export_sed_model, load_audio, load_exported, sed_dataloaders, sed_learner, set_seed
    from fastai_audio.backbones.sed import BiGRU
    dls = sed_dataloaders(scapes / 'events.csv', scapes, seed=0, bs=4, num_workers=0)
    set_seed(0)
    learn = sed_learner(dls, torchvision.models.resnet18, pretrained=False, temporal='gru')
    assert isinstance(learn.model.head[1], BiGRU) and len(learn.model.head[1].backward_layers) == 2
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    out = export_sed_model(learn, tmp_path / 'crnn')
    det = load_exported(out)
    assert det.spec.network['temporal'] == 'gru'
    f = dls.valid.items[0]
    wave = load_audio(f, sr=16000)[0]
    with torch.no_grad(): got = det(wave)
    torch.testing.assert_close(got, learn.frame_probs(f), atol=1e-4, rtol=0)
    ts = torch.jit.load(str(out / 'model.ts'))
    sess = ort.InferenceSession(str(out / 'model.onnx'))
    for n in (len(wave), 16000 + 123):
        with torch.no_grad(): want = det(wave[:n])
        torch.testing.assert_close(ts(wave[:n]), want, atol=1e-4, rtol=0)
        torch.testing.assert_close(torch.from_numpy(sess.run(None, {'waveform': wave[:n].numpy()})[0]), want, atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match='unknown temporal layer'):
        sed_learner(dls, torchvision.models.resnet18, pretrained=False, temporal='lstm')


def test_events_of_a_folder_as_raven_and_audacity_tables(scapes, tmp_path):
    import torchvision
    from fastai_audio import get_audio_files, sed_dataloaders, sed_learner
    dls = sed_dataloaders(scapes / 'events.csv', scapes, seed=0, bs=4, num_workers=0)
    learn = sed_learner(dls, torchvision.models.resnet18, pretrained=False)
    files = sorted(f.relative_to(scapes).as_posix() for f in get_audio_files(scapes))
    df = learn.predict_events_folder(scapes, format='audacity', out=tmp_path / 'labels', threshold=0.3)
    written = sorted(p.relative_to(tmp_path / 'labels').as_posix() for p in (tmp_path / 'labels').rglob('*.txt'))
    assert written == sorted(f.rsplit('.', 1)[0] + '.txt' for f in files)
    for f in files:
        lines = (tmp_path / 'labels' / (f.rsplit('.', 1)[0] + '.txt')).read_text().splitlines()
        want = df[df.filename == f].sort_values(['onset', 'event_label'])
        assert [tuple(line.split('\t')) for line in lines] == \
            [(f'{r.onset:.6f}', f'{r.offset:.6f}', r.event_label) for r in want.itertuples()]
    learn.predict_events_folder(scapes, format='raven', out=tmp_path / 'raven', threshold=0.3)
    assert len(list((tmp_path / 'raven').rglob('*.Table.1.selections.txt'))) == len(files)
    with pytest.raises(ValueError, match='csv= writes a CSV'):
        learn.predict_events_folder(scapes, csv=tmp_path / 'x.csv', format='raven')
