#!/usr/bin/env bash
# The wheels benchmarks/gpu_run.py needs on the GPU machine beyond its image (torch, torchvision, numpy, scipy,
# numba, scikit-learn, joblib, msgpack, lazy-loader are there), for Python 3.12, into .whl/ (git-ignored):
#     bash benchmarks/gpu_wheels.sh
# then run there (carry .whl):
#     python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
#       && export PYTHONPATH=/tmp/site:$PWD && python3 benchmarks/gpu_run.py --device cuda --out $OUT/gpu_run.md
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
PLAT="--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $PLAT -d .whl \
  fastai fastcore fasttransform fastprogress fastdownload plum-dispatch beartype librosa audioread pooch \
  platformdirs decorator soundfile soxr cffi pycparser standard-aifc standard-sunau standard-chunk \
  webdataset braceexpand pyyaml
ls .whl
