"""系统设置: settings stored in the database (thresholds, intervals) with defaults in code, and
the admin page that edits them (``routes``, registered by the app factory).

``from app.settings import get_setting`` is how every feature reads a setting.
"""

from app.settings.editable import EDITABLE, Editable, editable_values, save_settings
from app.settings.models import DEFAULTS, Setting, all_settings, get_setting

__all__ = [
    "DEFAULTS",
    "EDITABLE",
    "Editable",
    "Setting",
    "all_settings",
    "editable_values",
    "get_setting",
    "save_settings",
]
