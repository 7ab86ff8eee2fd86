"""Installs the semi-supervised adversarial singing-voice separator.

* ``pip install ".[separate]"`` (or plain ``pip install .``): separation with the onnx engine, without TensorFlow
  (requirements-separate.txt);
* ``pip install -e ".[train]"``: training, evaluation and the TF engine too (requirements.txt);
* ``.[web]``: the web app (harmony_split); ``.[test]``: all of it and the test tools.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name: str) -> list[str]:
    """Return the requirement specifiers of a requirements file, without comments and ``-r`` includes."""
    lines = (HERE / name).read_text().splitlines()
    return [spec for spec in (line.split("#")[0].strip() for line in lines) if spec and not spec.startswith("-r")]


SEPARATE = read_requirements("requirements-separate.txt")
TRAIN = read_requirements("requirements.txt")  # on top of SEPARATE


# The web app (harmony_split/): Django 5.2 LTS (Django 6 needs Python >= 3.12), its JSON API and schema, the
# Tasks API backport with its database and RQ backends, and what serves it.
WEB = [
    "django>=5.2,<5.3",
    "djangorestframework>=3.15,<4",
    "drf-spectacular>=0.28,<1",
    "django-tasks>=0.12,<0.13",
    "django-tasks-db>=0.12,<0.14",
    "django-tasks-rq>=0.12,<0.13",
    "dj-database-url>=2,<4",
    "psycopg[binary]>=3.2,<4",  # PostgreSQL (DATABASE_URL=postgresql://...) for several web and worker machines
    "gunicorn>=27,<28",
    "whitenoise>=6.7,<7",
    "werkzeug>=3,<4",
    "requests>=2.28,<3",  # the HTTP client of benchmarks.web
]
# The test suite covers the web app too, so the test extra includes the web extra (no test is left out for a
# missing package). playwright drives Debian's chromium in the browser tests (tests/web/test_browser.py). norbert
# is the reference the Wiener filter is tested against (Models/separation/masks.py does not import it: it brings scipy).
TEST = ["pytest>=8,<10", "ruff>=0.5,<1", "import-linter>=2.1,<3", "pytest-django>=4.9,<5", "schemathesis>=4,<5",
        "playwright>=1.45,<2", "norbert>=0.2.1,<0.3", *TRAIN, *WEB]

setup(
    name="adversarial-voice-separation",
    version="0.1.0",
    description="Semi-supervised adversarial singing-voice separation (Stoller et al. 2017) in TensorFlow 2",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["Models", "Models.*", "Input", "Input.*", "benchmarks", "benchmarks.*",
                                    "harmony_split", "harmony_split.*"]),
    package_data={"harmony_split.backend.tracks": ["templates/registration/*.html"]},
    py_modules=["Training", "separate", "Sample", "Evaluate", "Utils"],
    install_requires=SEPARATE,
    extras_require={"separate": [], "train": TRAIN, "test": TEST, "web": WEB},
    entry_points={"console_scripts": ["voice-separate=separate:main"]},
)
