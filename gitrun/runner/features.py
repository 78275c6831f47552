"""Importing this module registers every feature's record extension and result contributor."""

from __future__ import annotations
