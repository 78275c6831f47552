"""A table that renders only the rows on screen: 10,000 runs cost what 30 do.

Textual's DataTable measures every cell of every row it is given (about 90,000 measurements for
10,000 runs, seconds), so filtering or sorting as you type could not stay under 100 ms. Here a row
is a key and a function that makes its cells; cells are made (and cached) only when the row is
drawn, and the header stays on the first line while the rows scroll beneath it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from gitrun.tui.text import shown

Cells = Callable[[], Sequence[Text]]


@dataclass(frozen=True)
class TableColumn:
    key: str
    header: str
    width: int


@dataclass
class TableRow:
    key: str
    cells: Cells
    group: bool = False  # a group heading, not a run


class RunTable(ScrollView, can_focus=True):
    """Rows of runs under a fixed header; the cursor row is highlighted."""

    BINDINGS = [
        Binding("up", "move(-1)", "up", show=False),
        Binding("down", "move(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "jump(0)", "first", show=False),
        Binding("end", "jump(-1)", "last", show=False),
        Binding("enter", "choose", "open", show=False),
    ]
    # The cursor's look without the focus is a class of its own, not a ``RunTable:focus`` rule: a rule
    # that changes with the focus makes Textual repaint the whole table whenever the filter opens.
    COMPONENT_CLASSES = {"run-table--header", "run-table--cursor", "run-table--cursor-unfocused", "run-table--group",
                         "run-table--odd"}
    DEFAULT_CSS = """
    RunTable { height: 1fr; }
    RunTable > .run-table--header { text-style: bold; background: $panel; }
    RunTable > .run-table--cursor-unfocused { background: $accent 40%; }
    RunTable > .run-table--cursor { background: $accent; color: $text; }
    RunTable > .run-table--group { text-style: bold; color: $text-accent; }
    RunTable > .run-table--odd { background: $surface-lighten-1 20%; }
    """

    class Chosen(Message):
        """Enter or a double click on a row."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    class HeaderClicked(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.columns: list[TableColumn] = []
        self.rows: list[TableRow] = []
        self.cursor = 0
        self._cells: dict[str, list[Text]] = {}
        self._positions: dict[str, int] = {}

    # --- content ------------------------------------------------------------------------------------

    def set_columns(self, columns: list[TableColumn]) -> None:
        self.columns = columns
        self._cells.clear()
        self._resize()

    def set_rows(self, rows: list[TableRow], keep: str | None = None) -> None:
        """Replace every row (cheap: nothing is made until drawn); the cursor stays on ``keep``."""
        self.rows = rows
        self._positions = {row.key: index for index, row in enumerate(rows)}
        self._cells.clear()
        if keep is not None and keep in self._positions:
            self.cursor = self._positions[keep]
        self.cursor = max(0, min(self.cursor, len(rows) - 1))
        self._resize()
        self.scroll_to_cursor()
        self.refresh()

    def refresh_rows(self, keys: Sequence[str]) -> None:
        """Make these rows' cells again (their run changed) and redraw."""
        for key in keys:
            self._cells.pop(key, None)
        self.refresh()

    def _resize(self) -> None:
        width = sum(column.width + 1 for column in self.columns)
        self.virtual_size = Size(width, len(self.rows) + 1)

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def cursor_key(self) -> str | None:
        return self.rows[self.cursor].key if self.rows else None

    def row_text(self, index: int) -> list[str]:
        """The plain text of a row's cells (tests and the tmux screen read what users read)."""
        return [cell.plain for cell in self._row_cells(self.rows[index])]

    def index_of(self, key: str) -> int | None:
        return self._positions.get(key)

    # --- drawing ------------------------------------------------------------------------------------

    def _row_cells(self, row: TableRow) -> list[Text]:
        cells = self._cells.get(row.key)
        if cells is None:
            cells = self._cells[row.key] = list(row.cells())
        return cells

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            strip = self._strip([shown(column.header) for column in self.columns],
                                self.get_component_rich_style("run-table--header"))
            return strip.crop_extend(scroll_x, scroll_x + width, base)
        index = scroll_y + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        style = base
        if row.group:
            style = base + self.get_component_rich_style("run-table--group")
        elif index % 2:
            style = base + self.get_component_rich_style("run-table--odd")
        if index == self.cursor:
            cursor = "run-table--cursor" if self.has_focus else "run-table--cursor-unfocused"
            style = style + self.get_component_rich_style(cursor)
        if row.group:
            text = self._row_cells(row)[0]
            strip = Strip(list(text.render(self.app.console)), text.cell_len).apply_style(style)
        else:
            strip = self._strip(self._row_cells(row), style)
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_offsets(scroll_x, index)

    def _strip(self, cells: Sequence[Text], style: Style) -> Strip:
        segments: list[Segment] = []
        for column, cell in zip(self.columns, cells, strict=False):
            text = cell.copy()
            text.truncate(column.width, overflow="ellipsis", pad=True)
            segments.extend(text.render(self.app.console))
            segments.append(Segment(" "))
        total = sum(column.width + 1 for column in self.columns)
        return Strip(segments, total).apply_style(style)

    # --- cursor and input ------------------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        if not self.rows:
            return
        old = self.cursor
        self.cursor = max(0, min(row, len(self.rows) - 1))
        if old != self.cursor:
            self.refresh()
        self.scroll_to_cursor()

    def scroll_to_cursor(self) -> None:
        visible = max(1, self.size.height - 1)  # the header takes a line
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    def _on_focus(self, event: events.Focus) -> None:
        self._focus_moved(event, True)

    def _on_blur(self, event: events.Blur) -> None:
        self._focus_moved(event, False)

    def _focus_moved(self, event: events.Focus | events.Blur, focused: bool) -> None:
        # Textual repaints every row of a widget that gains or loses the focus; here only the cursor
        # row looks different (its colour), so only it is redrawn (opening the filter moves the focus).
        event.prevent_default()
        self.has_focus = focused
        self._refresh_cursor_row()
        if self.parent is not None:
            self.parent.post_message(events.DescendantFocus(self) if focused else events.DescendantBlur(self))

    def _refresh_cursor_row(self) -> None:
        line = self.cursor - self.scroll_offset.y + 1  # under the header
        if 1 <= line < self.size.height:
            self.refresh(Region(0, line, self.size.width, 1))

    def action_move(self, delta: int) -> None:
        self.move_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor + direction * max(1, self.size.height - 2))

    def action_jump(self, where: int) -> None:
        self.move_cursor(len(self.rows) - 1 if where < 0 else 0)

    def action_choose(self) -> None:
        if self.rows:
            self.post_message(self.Chosen(self.rows[self.cursor].key))

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            x = event.x + self.scroll_offset.x
            for column in self.columns:
                if x < column.width + 1:
                    self.post_message(self.HeaderClicked(column.key))
                    return
                x -= column.width + 1
            return
        index = self.scroll_offset.y + event.y - 1
        if 0 <= index < len(self.rows):
            self.move_cursor(index)
            if event.chain >= 2:
                self.post_message(self.Chosen(self.rows[index].key))
