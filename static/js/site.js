// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // Selects marked data-autosubmit (language, organisation) submit their form on change.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // Countdown to a deadline: <span data-countdown="ISO date">fallback text</span>.
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  document.querySelectorAll("[data-countdown]").forEach(function (el) {
    var end = Date.parse(el.getAttribute("data-countdown"));
    if (isNaN(end)) { return; }
    function tick() {
      var left = Math.max(0, Math.floor((end - Date.now()) / 1000));
      var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
      var m = Math.floor(left % 3600 / 60), s = left % 60;
      el.textContent = (d ? d + "d " : "") + pad(h) + ":" + pad(m) + ":" + pad(s);
      if (left > 0) { window.setTimeout(tick, 1000); }
    }
    tick();
  });
})();
