"""Version of demo."""
# __version__ = "0.0.0" was the first one
__version__: str = "1.2.0"
VERSION_INFO = tuple(__version__.split("."))
