"""Textual's footer, rebuilt only when the keys it shows change.

Textual's `Footer` removes and mounts all of its keys (some twenty widgets on the lab
screen) whenever the screen's bindings may have changed: on every focus change, so on
every page switch of the lab screen. This one compares what it would show and recomposes
only when that differs; every screen of the tutor uses it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer as TextualFooter

if TYPE_CHECKING:
    from textual.screen import Screen

type Shown = tuple[tuple[object, ...], ...]


class Footer(TextualFooter):
    _shown: Shown | None = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            shown = self.keys_shown(screen)
            if shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)

    def keys_shown(self, screen: Screen[object]) -> Shown:
        """Everything of the active bindings that compose() draws."""
        palette = self.app.COMMAND_PALETTE_BINDING
        keys = tuple((key, binding.key_display, binding.description, binding.action,
                      binding.group, binding.tooltip, enabled, tooltip)
                     for key, (_node, binding, enabled, tooltip)
                     in screen.active_bindings.items()
                     if binding.show or key == palette)
        return (keys, (self.compact, self.show_command_palette))
