"""A test hasher that records whether it ran with an event loop running in its thread."""

from __future__ import annotations

import asyncio

from django.contrib.auth.hashers import MD5PasswordHasher

#: One entry per encode(): True when an event loop was running in that thread (it must not be).
ENCODED_ON_EVENT_LOOP: list[bool] = []


class LoopRecordingHasher(MD5PasswordHasher):
    algorithm = "md5_loop_recording"

    def encode(self, password: str, salt: str) -> str:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            ENCODED_ON_EVENT_LOOP.append(False)
        else:
            ENCODED_ON_EVENT_LOOP.append(True)
        return super().encode(password, salt)
