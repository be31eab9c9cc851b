"""What the grids share: the row's key as a link, and Enter on a row opens it."""

from __future__ import annotations

from urllib.parse import quote

from dash import no_update


def row_link(prefix: str) -> dict:
    """Column settings that show the value as a link to ``prefix`` + value (a real link:
    middle click or Ctrl click opens it in a new tab; assets/dashAgGridComponentFunctions.js)."""
    return {"cellRenderer": "RowLink", "cellRendererParams": {"prefix": prefix}}


def open_on_enter(prefix: str, field: str) -> dict:
    """The grid's eventListeners: Enter on a row asks for ``prefix`` + the row's ``field``
    (assets/dashAgGridFunctions.js), delivered as the grid's eventData."""
    return {"cellKeyDown": [f"openRowOnEnter(params, setEventData, '{prefix}', '{field}')"]}


def opened_path(prefix: str, cell: dict | None, event: dict | None, clicked: bool) -> str:
    """Where a click on a row (``cell``, from cellClicked) or Enter on it (``event``, from
    eventData) leads; no_update for a click on a selection box or anything unexpected."""
    if clicked:
        if not isinstance(cell, dict) or str(cell.get("colId", "")).startswith("ag-Grid"):
            return no_update  # the selection boxes
        key = cell.get("rowId")
        return f"{prefix}{quote(str(key), safe='')}" if key not in (None, "") else no_update
    href = (event or {}).get("data", {}).get("href") if isinstance(event, dict) else None
    if isinstance(href, str) and href.startswith(prefix) and len(href) > len(prefix):
        return href
    return no_update
