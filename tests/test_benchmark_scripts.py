"The prepared GPU run (benchmarks/gpu_run.py) runs: on the CPU at tiny sizes, so it is known to work before a GPU is lent."
from pathlib import Path

BENCH = Path(__file__).parent.parent / 'benchmarks'


def test_the_gpu_run_script_runs_on_the_cpu_at_tiny_sizes(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import gpu_run
    rows = gpu_run.main(['--device', 'cpu', '--smoke', '--out', str(tmp_path / 'gpu_run.md')])
    what = [r[0] for r in rows]
    assert what[:3] == ['log-mel, librosa clip by clip (CPU)', 'log-mel, batch transform on cpu',
                        'log-mel, torchaudio MelSpectrogram on cpu']
    assert any(w.startswith('augmentation preset') for w in what)
    assert any(w.startswith('epoch on the fly') and v.endswith(tuple('0123456789')) for w, v, _ in rows)
    for source in ('files', 'memmap', 'shards'):                      # issue 27: each source, epoch and fed steps
        assert any(w.startswith('epoch on the fly') and f', {source})' in w for w, _, _ in rows)
        fed = [v for w, v, _ in rows if w.startswith(f'resnet18 step fed by the loader ({source}, 0 workers)')]
        assert len(fed) == 1 and fed[0].endswith(tuple('0123456789')) and ' ms / ' in fed[0]
    assert rows[-1][:2] == ('host synchronisations in the batch transforms', 'not checked (no CUDA device)')
    table = (tmp_path / 'gpu_run.md').read_text().splitlines()
    assert table[0].startswith('| gpu run |') and len(table) == 2 + len(rows)


def test_the_feed_benchmark_runs_at_tiny_sizes(monkeypatch):
    "benchmarks/feed.py (issue 27): each part for the memmap cache, and the throughput of files and shards."
    monkeypatch.syspath_prepend(str(BENCH))
    import feed
    rows = feed.main(['--smoke', '--sources', 'memmap'])
    assert [t for t, _ in rows] == ['feed', 'feed epoch', 'feed memory'] and all(c[0] == 'memmap' for _, c in rows)
    assert rows[0][1][4].endswith('clips/s') and float(rows[0][1][4].split()[0]) > 0
    rows = feed.main(['--smoke', '--only', 'throughput', '--sources', 'files,shards'])
    assert [c[0] for _, c in rows] == ['files', 'shards'] and rows[1][1][5] == ''        # no memmap row to compare with
