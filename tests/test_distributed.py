"""fastai's distrib_ctx (accelerate, DDP) with our loaders and transforms, in two CPU processes (gloo)."""
import json
import subprocess
import sys

import pytest


def test_two_cpu_processes_train_in_step(tmp_path, synth_path):
    pytest.importorskip('accelerate')
    out = tmp_path / 'dist.json'
    res = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
                          '-m', 'fastai_audio.distributed_check', str(out), str(synth_path)],
                         capture_output=True, text=True, timeout=600, env={**__import__('os').environ, 'OMP_NUM_THREADS': '1'})
    assert res.returncode == 0, res.stderr[-3000:]
    ranks = [json.loads((tmp_path / f'dist.json.rank{r}').read_text()) for r in (0, 1)]
    assert [r['rank'] for r in ranks] == [0, 1] and all(r['world'] == 2 for r in ranks)
    n_train = ranks[0]['n_train']                             # 40 clips, batches of 8, each rank half of them
    assert all(r['train_batches'] == n_train // 2 // 8 for r in ranks)
    assert all(r['shapes'] == [[8, 1, 32, 32]] for r in ranks)
    assert ranks[0]['weights'] == pytest.approx(ranks[1]['weights'], rel=1e-6)   # gradients were averaged
