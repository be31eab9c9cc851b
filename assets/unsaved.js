/* Leaving the customer editor with edits not yet saved asks first: a link inside the
   app (the navbar, a breadcrumb) and the browser's own reload, close or back. The
   editor page sets window.countersignUnsaved; its text comes with the page, in the
   user's language. */
(function () {
    function question() {
        const holder = document.getElementById("cs-unsaved-message");
        return holder ? holder.dataset.message : "";
    }
    window.addEventListener("beforeunload", function (event) {
        if (window.countersignUnsaved && document.getElementById("cs-unsaved-message")) {
            event.preventDefault();
            event.returnValue = "";
        }
    });
    document.addEventListener("click", function (event) {
        if (!window.countersignUnsaved || !document.getElementById("cs-unsaved-message")) {
            return;
        }
        const link = event.target.closest && event.target.closest("a[href]");
        if (!link || link.target === "_blank" || link.getAttribute("href").startsWith("#")) {
            return;
        }
        if (window.confirm(question())) {
            window.countersignUnsaved = false;
        } else {
            event.preventDefault();
            event.stopPropagation();
        }
    }, true);
})();
