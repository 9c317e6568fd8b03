// When the htmx CDN cannot be reached (an intranet, a machine without internet), load the copy
// the installer put in static/vendor/. A file of its own, loaded before the CDN script and not
// deferred, so it sees the CDN script fail; no inline script, so the CSP stays as it is.
(function () {
  "use strict";
  var me = document.currentScript;
  var local = me && me.getAttribute("data-local");
  if (!local) return;
  var loaded = false;
  function useLocal() {
    if (loaded || window.htmx) return;
    loaded = true;
    var script = document.createElement("script");
    script.src = local;
    script.addEventListener("load", function () {
      // htmx starts on DOMContentLoaded, or at once when the document is "complete"; loaded in
      // between ("interactive": the CDN script failed or hung after parsing), it would wait for
      // an event that has passed, so announce it again.
      if (document.readyState === "interactive") {
        document.dispatchEvent(new Event("DOMContentLoaded"));
      }
    });
    document.head.appendChild(script);
  }
  // A failed <script> load fires "error" on the element; it does not bubble, so capture it.
  window.addEventListener("error", function (event) {
    var target = event.target;
    if (target && target.tagName === "SCRIPT" && target.hasAttribute("data-htmx-cdn")) useLocal();
  }, true);
  // A CDN that neither answers nor fails (a hanging connection) also holds back
  // DOMContentLoaded (the script is deferred): give it a few seconds from now.
  setTimeout(useLocal, 4000);
})();
