# Shared by every test file: keep it minimal. pytester runs the plugin tests (tests/test_plugin.py).
pytest_plugins = ["pytester"]
