"""CancerAssist: a bilingual, cited assistant over cancer-research network documents."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cancerassist")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
