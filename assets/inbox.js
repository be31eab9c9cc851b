/* The approver's inbox on a narrow screen: the grid's rows drawn as cards, each a link to
   its request with its changes one a line, its step, since when and who submitted it. The
   rows travel once; the cards are made here from them. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    countersign: Object.assign({}, (window.dash_clientside || {}).countersign, {
        inboxCards: function (rows, empty) {
            const node = (type, props, namespace) => ({
                type: type, namespace: namespace || "dash_html_components", props: props
            });
            if (!rows || !rows.length) {
                return [node("Li", {children: empty, className: "text-muted"})];
            }
            return rows.map((row) => node("Li", {
                key: row.row_id,
                className: "card shadow-sm mb-2 p-2",
                children: [
                    node("Div", {children: [
                        node("Link", {
                            children: "#" + row.request_id + " " + row.account + " " +
                                row.customer_name,
                            href: "/requests/" + row.request_id,
                            className: "fw-semibold stretched-link"
                        }, "dash_core_components"),
                        node("Span", {children: row.status,
                                      className: row.overdue ? "ms-2 small text-danger"
                                                             : "ms-2 small"})
                    ]}),
                    node("Div", {children: row.changes, className: "small mb-1 inbox-changes"}),
                    node("Div", {children: [row.step, row.since, row.submitter]
                                     .filter(Boolean).join(" · "),
                                 className: "small text-muted"})
                ]
            }));
        }
    })
});
