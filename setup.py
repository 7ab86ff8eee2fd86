"""Installs the semi-supervised adversarial singing-voice separator.

The dependency list lives in requirements.txt only; this file reads it.
"""

from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent


def read_requirements() -> list[str]:
    """Return the requirement specifiers of requirements.txt, without comments."""
    lines = (HERE / "requirements.txt").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


setup(
    name="adversarial-voice-separation",
    version="0.1.0",
    description="Semi-supervised adversarial singing-voice separation (Stoller et al. 2017) in TensorFlow 2",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=["Models", "Input", "benchmarks"],
    py_modules=["Training", "separate", "Sample", "Evaluate", "Utils"],
    install_requires=read_requirements(),
    extras_require={"test": ["pytest>=8,<10", "ruff>=0.5,<1", "import-linter>=2.1,<3"]},
    entry_points={"console_scripts": ["voice-separate=separate:main"]},
)
