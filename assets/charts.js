/* A dashboard's charts, set aside in its answer (components/charts.py) as the properties
   of each graph, drawn into their boxes once its numbers are on the page: plotly.js, which
   the charts wait for, holds up nothing else. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    countersign: Object.assign({}, (window.dash_clientside || {}).countersign, {
        drawCharts: function (graphs) {
            const slots = window.dash_clientside.callback_context.outputs_list;
            return slots.map((slot) => {
                const props = (graphs || {})[slot.id.key];
                return props ? {type: "Graph", namespace: "dash_core_components", props: props}
                             : null;
            });
        }
    })
});
