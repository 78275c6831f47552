"""Small modal dialogs: confirm, ask for a line of text, edit markdown, pick columns, help."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, SelectionList
from textual.widgets.selection_list import Selection

from gitrun.tui.text import shown


class ConfirmDialog(ModalScreen[bool]):
    """Yes or no; ``y``/``enter`` confirm, ``n``/``escape`` cancel."""

    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("n,escape", "answer(False)", "no")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(shown(self.question), id="question")  # names a run: never markup
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class TextPrompt(ModalScreen[str | None]):
    """One line of text (tags to add, a remote name); ``escape`` cancels."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, prompt: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.prompt = prompt
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(shown(self.prompt))
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class NoteEditor(ModalScreen[str | None]):
    """A markdown note in a text area; ``ctrl+s`` saves, ``escape`` cancels."""

    BINDINGS = [Binding("ctrl+s", "save", "save", priority=True), Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(shown(f"{self.title_text}  (ctrl+s save, esc cancel)"))
            from textual.widgets import TextArea  # here: the first screen does not pay for the editor

            yield TextArea(self.text, id="note-text", soft_wrap=True)

    def on_mount(self) -> None:
        self.query_one("#note-text").focus()

    def action_save(self) -> None:
        from textual.widgets import TextArea

        self.dismiss(self.query_one("#note-text", TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ColumnPicker(ModalScreen[list[str] | None]):
    """Choose the parameter and metric columns; ``enter`` keeps, ``escape`` cancels."""

    BINDINGS = [Binding("enter", "keep", "keep", priority=True), Binding("escape", "cancel", "cancel")]

    def __init__(self, choices: list[str], chosen: list[str]) -> None:
        super().__init__()
        self.choices = list(dict.fromkeys([*chosen, *choices]))
        self.chosen = set(chosen)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Columns: space toggles, enter keeps, esc cancels")
            yield SelectionList[str](*[Selection(shown(name), name, name in self.chosen) for name in self.choices],
                                     id="column-list")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_keep(self) -> None:
        selected = set(self.query_one(SelectionList).selected)
        self.dismiss([name for name in self.choices if name in selected])

    def action_cancel(self) -> None:
        self.dismiss(None)


HELP = """\
# git run ui

**Runs**: `enter` open · `space` select · `c` compare selected · `/` filter (the `--where` language,
e.g. `status == failed and metrics.acc > 0.9`) · `s` sort by next column, `S` reverse · `g` group
(branch, tag, status, a parameter column) · `a` all branches · `C` columns · `P` pin (kept on top of
the table and overlaid on every chart, remembered for this repository)

**Actions** (on the selected runs, else the one under the cursor): `t` tag · `u` untag · `n` note ·
`b` baseline of the branch · `d` delete · `p` push · `y` copy id · `Y` copy the command that
reproduces it · `j` journal

**Run**: `1`-`9`/`tab` tabs · metrics: `l` log scale · `+`/`-` smoothing · `x` step/time ·
`[`/`]` zoom · `←`/`→` (or `,`/`.`, the mouse; `shift` for ten columns) crosshair: each line's value
at one step · `P` pin · logs: `/` search · `f` follow · note: `e` edit

**Compare**: `1`-`3` tabs · `a` show everything / only differences · charts overlay the runs (and the
pinned ones), one colour per run · `←`/`→` crosshair on every chart at once, each run's value under it

**Everywhere**: `?` help · `ctrl+p` commands · `ctrl+t` light/dark · `escape` back · `q` quit
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide"):
            from textual.widgets import Markdown  # here: markdown-it is not needed for the first screen

            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
