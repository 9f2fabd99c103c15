"""Passwords kept out of what the project's tools print: dev.py, main.py, ``manage.py seed``, the benchmark.

Standard library only: dev.py imports it before any virtualenv exists.
"""

from __future__ import annotations

import re
from urllib.parse import unquote


def mask_secret(text: str, secret: str) -> str:
    """``text`` with ``secret`` replaced by ``***`` where it stands alone, as drivers echo a password.

    Alone: between spaces, quotes or after ``=``; elsewhere its characters are left alone (the
    password ``0`` leaves ``127.0.0.1`` intact, the password ``5432`` masks a port only where it
    stands alone).
    """
    if not secret:
        return text
    return re.sub(rf"(?<![^\s'\"`=]){re.escape(secret)}(?![^\s'\"`])", "***", text)


def mask_password(text: str, url: str) -> str:
    """``text`` without the password of ``url``: the text between ``://user:`` and the last ``@``.

    Hidden where ``user:password@`` appears (the URL, even a malformed one) and where the password
    (or its %-decoded form) stands alone (``mask_secret``).
    """
    found = re.match(r"[^:/?#]+://([^:/?#]*):(.*)@", url, re.DOTALL)
    if not found or not found.group(2):
        return text
    user, password = found.groups()
    text = text.replace(f"{user}:{password}@", f"{user}:***@")
    for secret in {password, unquote(password)}:
        text = mask_secret(text, secret)
    return text
