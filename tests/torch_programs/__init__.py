"""PyTorch programs that must run on tapegrad with only their imports changed (issue 15).

Each `*.py` here (except run.py) is a plain PyTorch script; run.py runs it on torch and, with
its imports rewritten, on tapegrad, and compares the outputs. tests/test_torch_programs.py runs
every program under pytest.
"""
