/* Names a screen reader needs that a component cannot be given from Python: the file
   field inside the import's drop area takes the area's own words. */
(function () {
    function name() {
        document.querySelectorAll("#imp-upload input[type=file]:not([aria-label])").forEach(
            function (input) {
                const area = document.getElementById("imp-upload");
                input.setAttribute("aria-label", (area && area.textContent.trim()) || "File");
            }
        );
    }
    new MutationObserver(name).observe(document.documentElement, {childList: true, subtree: true});
})();
