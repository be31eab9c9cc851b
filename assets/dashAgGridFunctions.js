/* Functions the grids call (dash-ag-grid reads them from this file by name). */
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

/* Enter on a focused row opens the row's page (prefix followed by the row's ``field``), as
   a click does: the address goes to the grid's eventData, which the page's callback follows.
   Enter on a selection box is left to the box. */
dagfuncs.openRowOnEnter = function (params, setEventData, prefix, field) {
    const event = params.event;
    if (!event || event.key !== "Enter" || !params.data || params.data[field] == null) {
        return;
    }
    if (event.target && event.target.closest && event.target.closest(".ag-selection-checkbox")) {
        return;
    }
    setEventData({ href: prefix + encodeURIComponent(String(params.data[field])) });
};
