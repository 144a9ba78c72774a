"""Multi-label tagging end to end on an FSDKaggle2019-layout fixture: loss, metrics, displays, interpretation."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from training_setups import multilabel_learner
from fastai_audio import MultiLabelInterpretation, accuracy, accuracy_multi, default_metrics


@pytest.fixture(scope='module')
def ml_learner(tmp_path_factory):
    return multilabel_learner(tmp_path_factory.mktemp('fsd'))


def test_bce_and_multilabel_metrics_by_default(ml_learner):
    learn = ml_learner
    assert type(learn.loss_func.func).__name__ == 'BCEWithLogitsLoss'
    assert [m.name for m in learn.metrics] == ['accuracy_multi', 'lwlrap']
    fresh = default_metrics(learn.dls)
    assert fresh[0] is accuracy_multi and fresh[1].name == 'lwlrap'
    loss, acc, lw = learn.validate()
    assert 0 <= acc <= 1 and 0 < lw <= 1


def test_single_label_default_metric_is_accuracy(classic_dls):
    assert default_metrics(classic_dls) == [accuracy]


def test_per_class_report_matches_a_hand_count(ml_learner):
    interp = MultiLabelInterpretation.from_learner(ml_learner)
    probs, targs = interp.probs_targs
    df = interp.per_class(thresh=0.5, sort_by=None)
    vocab = list(ml_learner.dls.vocab)
    assert list(df.label) == vocab
    for c, row in df.iterrows():
        pred, true = probs[:, c] > 0.5, targs[:, c].bool()
        assert row.support == int(true.sum()) and row.predicted == int(pred.sum())
        tp = int((pred & true).sum())
        assert row.precision == pytest.approx(tp / max(1, int(pred.sum())))
        assert row.recall == pytest.approx(tp / max(1, int(true.sum())))
    assert list(interp.per_class().ap) == sorted(df.ap, reverse=True)
    plt.close('all')
    ax = interp.plot_per_class()
    assert [t.get_text() for t in ax.get_yticklabels()] == list(interp.per_class().label[::-1])
    ax.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.y0 >= ax.get_window_extent().y1 - 1                     # above the plot: covers no bar or marker


def test_show_results_and_top_losses_name_every_label(ml_learner):
    vocab = set(ml_learner.dls.vocab)
    labels = lambda s: set(s.split(';')) - {'-'}
    plt.close('all')
    ml_learner.show_results(max_n=4)
    axes = [a for a in plt.gcf().axes if a.images]
    assert len(axes) == 4
    for a in axes:
        actual, pred = a.get_title().split('\n')
        assert labels(actual) and labels(actual) <= vocab and labels(pred) <= vocab
        assert (a.title.get_color() == 'green') == (labels(actual) == labels(pred))
    plt.close('all')
    MultiLabelInterpretation.from_learner(ml_learner).plot_top_losses(3)
    axes = [a for a in plt.gcf().axes if a.images]
    assert len(axes) == 3
    for a in axes:
        pred, actual, loss = a.get_title().split(' / ')
        assert labels(actual) <= vocab and labels(pred) <= vocab and float(loss) >= 0
    plt.close('all')
    ml_learner.dls.show_batch(max_n=4)
    titles = [a.get_title() for a in plt.gcf().axes if a.images]
    assert len(titles) == 4 and all(labels(t) <= vocab for t in titles)


def test_window_evaluation_of_whole_clips(ml_learner):
    res = ml_learner.validate_windows(agg='max')
    assert set(res) == {'accuracy_multi', 'lwlrap'} and 0 < res['lwlrap'] <= 1
    preds, targs = ml_learner.get_window_preds(agg='max')
    from fastai_audio import lwlrap
    assert res['lwlrap'] == pytest.approx(float(lwlrap(preds, targs)), abs=1e-6)
    assert res['accuracy_multi'] == pytest.approx(float(((preds > 0.5) == targs.bool()).float().mean()), abs=1e-6)


def test_per_class_thresholds_are_each_classes_best_f1(ml_learner):
    interp = MultiLabelInterpretation.from_learner(ml_learner)
    probs, targs = interp.probs_targs
    grid = torch.linspace(0.1, 0.9, 9)
    best = interp.best_thresholds(grid)
    assert best.shape == (len(ml_learner.dls.vocab),)
    for c in range(len(best)):
        if not targs[:, c].any(): assert best[c] == 0.5; continue
        f1 = [float(2 * ((probs[:, c] > t) & targs[:, c].bool()).sum() / max(1, int((probs[:, c] > t).sum() + targs[:, c].sum())))
              for t in grid]
        assert float(best[c]) == pytest.approx(float(grid[int(np.argmax(f1))]))
    df = interp.per_class(thresh=best, sort_by=None)
    assert (df.f1.to_numpy() >= interp.per_class(thresh=0.5, sort_by=None).f1.to_numpy() - 1e-6).all()


def test_class_balanced_sampling_draws_each_class_about_equally(tmp_path):
    from collections import Counter
    from conftest import tone, write
    from fastai_audio import AudioDataLoaders, class_balance_weights, set_seed
    for label, n in (('rare', 3), ('common', 27)):
        for i in range(n): write((tmp_path / 'train' / label).mkdir(parents=True, exist_ok=True) or
                                 tmp_path / 'train' / label / f'{i}.wav', tone(300 + 10 * i, 16000, 0.2), 16000)
        write((tmp_path / 'valid' / label).mkdir(parents=True, exist_ok=True) or tmp_path / 'valid' / label / '0.wav',
              tone(500, 16000, 0.2), 16000)
    dls = AudioDataLoaders.from_folder(tmp_path, duration=0.2, bs=10, num_workers=0)
    w = class_balance_weights(dls.train_ds)
    y = torch.tensor([int(dls.train_ds.tls[1][i]) for i in range(len(w))])
    assert torch.allclose(w[y == y[0]].sum(), w[y != y[0]].sum())           # each class the same total weight
    set_seed(0)                         # before the loader is made: it seeds its own random state from the global one
    balanced = dls.class_balanced()
    counts = Counter(int(y[i]) for _ in range(100) for i in balanced.train.get_idxs())   # 3000 draws: 5 sd from 0.1
    assert abs(counts[0] - counts[1]) / sum(counts.values()) < 0.1          # 50/50 drawn, not 10/90
    assert type(balanced.valid) is type(dls.valid) and balanced.one_batch()[0].shape[0] == 10
