"""Benchmark (g): embedding transfer versus end-to-end training on NSynth-GM (instrument family).

    python benchmarks/embedding_transfer.py DATA/nsynth_gm [--backbone-epochs 3] [--head-epochs 10] [--append]

No pretrained audio weights can be downloaded here, so the frozen backbone is a resnet18 trained from scratch
on the *train* split for another task: the instrument *source* (acoustic / electronic / synthetic). It never
sees family labels or valid audio. `AudioEmbedder.from_learner` frames every clip (0.96 s, hop 0.48 s),
`embedding_dataloaders` repeats each clip's family and split per frame, `embedding_learner` (Linear-ReLU-
Dropout-Linear) trains on the frames, and `clip_validate` scores clips by their frames' mean. End to end is
benchmark (a): the same resnet18 trained on family directly.
"""
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, command, machine, today, training_parser  # noqa: E402

SOURCE = r'_(acoustic|electronic|synthetic)_\d+-\d+-\d+.wav$'
FAMILY = r'(\w+?)_(?:acoustic|electronic|synthetic)_\d+-\d+-\d+.wav$'


def main():
    p = training_parser(__doc__, epochs=10)
    p.add_argument('--backbone-epochs', type=int, default=3)
    a = p.parse_args()
    from fastai_audio import (AudioEmbedder, AudioItemList, audio_learner, embedding_dataloaders, embedding_learner,
                              models, set_seed)
    set_seed(a.seed)
    items = AudioItemList.from_folder(a.data, folders=['train', 'valid']).split_by_folder()
    t0 = time.time()
    src = items.label_from_re(SOURCE).databunch(bs=64)
    backbone = audio_learner(src, models.resnet18, pretrained=False)
    backbone.fit_one_cycle(a.backbone_epochs, 1e-3)
    t_backbone = time.time() - t0
    print(f'backbone (source task) {t_backbone:.0f} s; its valid accuracy {float(backbone.validate()[1]):.3f}')
    fam = items.label_from_re(FAMILY).databunch(bs=64)
    emb = AudioEmbedder.from_learner(backbone)
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.time()
        edls = embedding_dataloaders(emb, fam, cache=cache, bs=a.bs * 4)
        t_embed = time.time() - t0
        t0 = time.time()
        edls2 = embedding_dataloaders(emb, fam, cache=cache, bs=a.bs * 4)
        t_cached = time.time() - t0
    print(f'{len(edls.train_ds)} train / {len(edls.valid_ds)} valid frames; embedding {t_embed:.0f} s, '
          f'from the cache {t_cached:.1f} s ({edls2.cache.hits} hits)')
    t0 = time.time()
    head = embedding_learner(edls)
    head.fit_one_cycle(a.epochs, a.lr)
    t_head = time.time() - t0
    frame_acc = float(head.validate()[1])
    clip_acc = head.clip_validate()['accuracy']
    print(f'family: frame accuracy {frame_acc:.4f}, clip accuracy {clip_acc:.4f}; head {t_head:.0f} s')
    if a.append:
        append_row('embedding', [today(), f'`{command()}`', machine(), f'{clip_acc:.3f}', f'{frame_acc:.3f}',
                                 f'{t_backbone:.0f} s', f'{t_embed:.0f} s ({t_cached:.0f} s cached)', f'{t_head:.0f} s'])


if __name__ == '__main__':
    main()
