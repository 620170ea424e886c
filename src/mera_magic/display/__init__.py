"""Rendering of results: static HTML and text (``html``, ``text``), plotly charts (``charts``), the paged
widgets (``browser``) and the Tab views with their display data (``view``)."""

from __future__ import annotations
