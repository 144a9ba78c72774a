"""Sharing a trained learner the way fastai users do, through the safe exported folder (never the pickle):
`learn.export_model(path)` writes it, `learn.push_to_hub('user/repo')` uploads it with its model card, and
`learn.demo()` opens the Gradio app on it. `AudioLearner` and `SEDLearner` share these through `Shareable`.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ['Shareable']


class Shareable:
    """The sharing methods of a learner that can export itself: `push_to_hub` and `demo`, over its `export_model`.

    A subclass sets `exporter`, its export function `(learn, path, *, formats) -> folder`, and defines
    `served_model()`, the served module itself (what `load_exported` would give of that folder).
    """
    #: the subclass's export function: `export_waveform_model`, `export_sed_model`
    exporter = None

    def served_model(self):
        """This learner as the waveform-in module its export holds, in eval mode on the CPU; the subclass's.

        Returns
        -------
        nn.Module
            With `config` (its config.json as a dict) and `classes`.
        """
        raise NotImplementedError(f'{type(self).__name__} cannot serve itself')

    def export_model(self, path, *, formats=('safetensors', 'torchscript', 'onnx')) -> Path:
        """Write this learner as an exported folder (config.json, model card, weights) with its `exporter`.

        Parameters
        ----------
        path : str or Path
            The folder, created if needed.
        formats : sequence of str
            As `export_waveform_model` takes them (default 'safetensors', 'torchscript', 'onnx').

        Returns
        -------
        Path
            The folder.
        """
        if self.exporter is None: raise NotImplementedError(f'{type(self).__name__} cannot export itself')
        return type(self).exporter(self, path, formats=formats)

    def push_to_hub(self, repo_id: str, *, private: bool | None = None, token: str | None = None,
                    formats=('safetensors', 'onnx')) -> str:
        """Export this learner and upload the folder to the Hugging Face Hub (`serving.hub.push_to_hub`).

        Parameters
        ----------
        repo_id : str
            'user/repo'.
        private : bool or None
            Create the repository private (default None: the Hub's default).
        token : str or None
            A Hub token with write access (default None: the saved one, or HF_TOKEN).
        formats : sequence of str
            The formats uploaded (default 'safetensors' and 'onnx').

        Returns
        -------
        str
            The commit's URL.
        """
        from ..serving.hub import push_to_hub
        return push_to_hub(self, repo_id, private=private, token=token, formats=formats)

    def demo(self, *, top_k: int = 5, block: bool = False, share: bool = False, port: int | None = None):
        """Open the Gradio demo app on this learner's served model (`served_model`, what its export holds; the
        app of `app.serve_model`); in a notebook it shows inline.

        Parameters
        ----------
        top_k : int
            Labels listed for a classifier (default 5).
        block : bool
            Wait until interrupted (default False: the app serves in a thread, as a notebook needs).
        share : bool
            Also open a public gradio.live link (default False).
        port : int or None
            The port (default None: Gradio's choice).

        Returns
        -------
        gradio.Blocks
            The launched app (`app.local_url`; `app.close()` stops it).
        """
        from ..app.gradio_app import serve_model
        model = self.served_model()
        model.title = Path(getattr(self.dls, 'path', None) or 'model').name or 'model'
        return serve_model(model, top_k=top_k, block=block, share=share, port=port)
