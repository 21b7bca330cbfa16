"""Benchmarks, run by `make bench`: timings against micrograd, numpy and PyTorch in one run."""
