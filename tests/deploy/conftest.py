"""The deploy tests: the image, built and run (tests/deploy/test_podman_image.py)."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "deploy: builds the Docker image with podman and runs it (needs root, "
        "podman and mmdebstrap: `make image-tools`); deselect with -m 'not deploy'")
