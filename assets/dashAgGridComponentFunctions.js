/* Cell renderers for the grids (dash-ag-grid reads them from this file by name). */
var dagcomponentfuncs = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});

/* The row's key as a real link to the row's page (cellRendererParams.prefix followed by the
   value): a plain click is left to the grid (the page opens in place), a middle click or a
   Ctrl/Cmd or Shift click opens it in a new tab or window as any link does. */
dagcomponentfuncs.RowLink = function (props) {
    const text = props.valueFormatted != null ? props.valueFormatted : props.value;
    const href = props.value == null || !props.prefix ? null
        : props.prefix + encodeURIComponent(String(props.value));
    if (!href) {
        return text == null ? "" : String(text);
    }
    return React.createElement(
        "a",
        {
            href: href,
            className: "row-link",
            tabIndex: -1, // the grid's cell holds the keyboard focus; Enter opens the row
            onClickCapture: function (event) {
                if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) {
                    event.stopPropagation(); // the browser opens it elsewhere; this page stays
                } else {
                    event.preventDefault(); // the grid's click opens it in place
                }
            },
        },
        text == null ? "" : String(text)
    );
};
