"""The key bar at the bottom of each screen: one line of text, redrawn when the keys it shows change.

Textual's ``Footer`` is a container holding a styled widget per key, composed again whenever the
keys change: moving focus into the filter (whose input takes the letter keys, so they leave the
footer) cost a new layout, a style pass over a dozen widgets and a full repaint, most of that
key's 150 ms with 100 runs running. Here the keys are one ``Text`` of one widget: a focus move
costs a repaint of one line. A click on a key presses it, as on Textual's footer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


@dataclass(frozen=True)
class FooterEntry:
    key: str  # what a click presses
    display: str  # how the key is shown (``^p``, ``←→``)
    description: str
    enabled: bool


class KeyFooter(Widget, can_focus=False):
    COMPONENT_CLASSES = {"footer-key--key", "footer-key--description", "footer-key--bar"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .footer-key--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .footer-key--bar {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entries: tuple[FooterEntry, ...] = ()
        self.palette: FooterEntry | None = None  # the command palette's key, shown on the right
        self._spans: list[tuple[int, int, FooterEntry]] = []  # columns of each drawn key: start, end

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """The focus moved or a screen's bindings changed: redraw the line if the keys differ."""
        if screen is not self.screen:
            return
        entries, palette = self.keys_of(screen)
        if entries == self.entries and palette == self.palette:
            return
        self.entries, self.palette = entries, palette
        self.refresh()

    def keys_of(self, screen: Screen[Any]) -> tuple[tuple[FooterEntry, ...], FooterEntry | None]:
        """The shown keys (one per action, the first bound, as Textual's footer shows them)."""
        app = self.app
        active = screen.active_bindings
        seen: set[str] = set()
        entries = []
        for _, binding, enabled, _ in active.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            entries.append(FooterEntry(binding.key, app.get_key_display(binding), binding.description, enabled))
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _, binding, enabled, _ = active[app.COMMAND_PALETTE_BINDING]
            palette = FooterEntry(binding.key, app.get_key_display(binding), binding.description, enabled)
        return tuple(entries), palette

    def render(self) -> Text:
        key_style = self.get_component_rich_style("footer-key--key")
        description_style = self.get_component_rich_style("footer-key--description")
        line = Text(no_wrap=True, overflow="crop", end="")
        spans = []
        for entry in self.entries:
            start = line.cell_len
            line.append_text(self._piece(entry, key_style, description_style))
            spans.append((start, line.cell_len, entry))
        if self.palette is not None:  # on the right after a bar, as Textual's footer shows it
            tail = self._piece(self.palette, key_style, description_style)
            tail = Text("▏", self.get_component_rich_style("footer-key--bar"), end="") + tail[1:]  # bar, no pad
            start = max(self.size.width - tail.cell_len, 0)
            if line.cell_len > start:  # too many keys for the width: those that do not fit are cut
                line.truncate(start)
                spans = [(first, min(last, start), entry) for first, last, entry in spans if first < start]
            line.append(" " * (start - line.cell_len))
            line.append_text(tail)
            spans.append((start, line.cell_len, self.palette))
        self._spans = spans
        return line

    @staticmethod
    def _piece(entry: FooterEntry, key_style: Style, description_style: Style) -> Text:
        extra = Style() if entry.enabled else Style(dim=True)
        piece = Text(end="")
        piece.append(f" {entry.display} ", key_style + extra)
        if entry.description:
            piece.append(f"{entry.description} ", description_style + extra)
        return piece

    def on_click(self, event: events.Click) -> None:
        for start, end, entry in self._spans:
            if start <= event.x < end:
                if entry.enabled:
                    self.app.simulate_key(entry.key)
                else:
                    self.app.bell()
                return
