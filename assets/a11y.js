/* Names a screen reader needs that a component cannot be given from Python: the file
   field inside a drop area (an import's file, a request's document) takes the area's own
   words. */
(function () {
    function name() {
        ["imp-upload", "rq-upload"].forEach(function (id) {
            document.querySelectorAll("#" + id + " input[type=file]:not([aria-label])").forEach(
                function (input) {
                    const area = document.getElementById(id);
                    const words = area && area.textContent.trim();
                    if (words) {
                        input.setAttribute("aria-label", words);
                    }
                }
            );
        });
    }
    new MutationObserver(name).observe(document.documentElement, {childList: true, subtree: true});
})();

/* A callback that redraws the control the keyboard was on (the action pane after Workflow ›
   Submit, a dialog's buttons) would leave the focus on <body>, as far from the work as the
   page's start: it goes to the page's message region instead (data-focus-return), or to
   the main content. */
(function () {
    let last = null;
    document.addEventListener("focusin", function (event) { last = event.target; });
    setInterval(function () {
        if (!last || last.isConnected || document.activeElement !== document.body) {
            return;
        }
        if (document.querySelector(".modal.show")) {
            return; // a dialog is opening or closing: it places the focus itself
        }
        last = null;
        const target = document.querySelector("[data-focus-return]") || document.getElementById("cs-main");
        if (target) {
            target.focus();
        }
    }, 150);
})();
