"""gapkit.gpu: the torch backend (real networks, CPU or CUDA)."""
