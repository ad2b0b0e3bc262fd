from __future__ import annotations

NAME = "layer_helper"
