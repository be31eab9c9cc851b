"""Controls shared by pages, built so that a screen reader names them and a keyboard
reaches them."""

from __future__ import annotations

import json

import dash_bootstrap_components as dbc
from dash import html


def segmented(component_id: str, options: list[dict], value: str, label: str) -> html.Div:
    """One choice among a few shown side by side (a filter's views): a named group of
    radio buttons, moved through with the arrow keys."""
    return html.Div(
        dbc.RadioItems(
            id=component_id,
            options=options,
            value=value,
            inline=True,
            class_name="btn-group flex-wrap",
            input_class_name="btn-check",
            label_class_name="btn btn-outline-primary",
            label_checked_class_name="active",
        ),
        role="radiogroup",
        **{"aria-label": label},
        className="mb-3",
    )


def dom_id(component_id: dict | str) -> str:
    """The id a component has in the page (a pattern-matching id as Dash writes it), for a
    label's ``for``: a label that names no control leaves a screen reader guessing."""
    if isinstance(component_id, str):
        return component_id
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def labelled(component, label: str, *, hidden: bool = False, small: bool = True) -> list:
    """``component`` with a label that names it (``hidden``: for screen readers only, where
    the control shows its name itself)."""
    classes = "visually-hidden" if hidden else ("small mb-1" if small else "")
    return [dbc.Label(label, html_for=dom_id(component.id), class_name=classes), component]


def scroll_region(table, label: str) -> html.Div:
    """A table that may be wider than the screen, scrolling inside its own region: the
    region is named and reachable by keyboard, so its hidden columns can be scrolled to."""
    return html.Div(table, className="table-responsive", tabIndex="0", role="region",
                    **{"aria-label": label})  # fmt: skip
