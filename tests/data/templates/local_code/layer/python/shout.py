from __future__ import annotations


def loud(text):
    return text.upper() + "!"
