"Execute the tutorials in nbs/ top to bottom on small generated data; any cell error fails the test."
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

# quickstart: waveform, show_batch, confusion matrix, top losses; augmentation: the grid, masks, show_batch
MIN_PICTURES = {'01_quickstart.ipynb': 4, '02_augmentation.ipynb': 3, '03_tagging.ipynb': 4, '04_inference_export.ipynb': 1}
NBS = sorted((Path(__file__).parent.parent / 'nbs').glob('*.ipynb'))


@pytest.mark.parametrize('nb_path', NBS, ids=[p.name for p in NBS])
def test_notebook_runs(nb_path, monkeypatch):
    monkeypatch.setenv('QUICKSTART_PER_CLASS', '6')
    monkeypatch.delenv('MPLBACKEND', raising=False)    # the kernel draws inline, as in Jupyter
    nb = nbformat.read(nb_path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': str(nb_path.parent)}}).execute()
    images = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', [])
              if 'image/png' in o.get('data', {})]
    assert len(images) >= MIN_PICTURES.get(nb_path.name, 1)


def test_there_is_a_tutorial():
    assert NBS, 'nbs/ holds no notebook'
