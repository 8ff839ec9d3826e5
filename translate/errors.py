"""User-facing errors: one clear line naming the thing and the fix.

The CLI prints ``str(err)`` of any ``TranslateError`` without a traceback and exits 2.
"""


class TranslateError(Exception):
    """An error the user caused and can fix (bad path, bad config, wrong weights...)."""


class ConfigError(TranslateError):
    """Unknown or malformed configuration key/value."""


class DataError(TranslateError):
    """Missing, empty or malformed dataset folders or image files."""


class PluginError(TranslateError):
    """A plugin could not be found, loaded, or registered."""


class WeightsError(TranslateError):
    """A weights file is missing or does not fit the architecture."""
