// Dispute resolution form: the two amounts matter only for a split, so show them only then.
(function () {
  "use strict";
  function sync(form) {
    var chosen = form.querySelector('input[name="outcome"]:checked');
    var split = chosen && chosen.value === "split";
    ["to_seller_fen", "to_buyer_fen"].forEach(function (name) {
      var input = form.querySelector('[name="' + name + '"]');
      if (input && input.parentElement) {
        input.parentElement.hidden = !split;
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector('form[data-action="dispute-resolve"]');
    if (!form) {
      return;
    }
    form.addEventListener("change", function () { sync(form); });
    sync(form);
  });
})();
